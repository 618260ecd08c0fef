import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { loadChoices, saveChoices, type ChoiceError, type UserChoices } from '../../domain/preferences/choices.js';
import { saveFrequency, type Frequency } from '../../domain/preferences/frequency.js';
import { openPreferenceLink, type PreferenceClaim } from '../../domain/preferences/link-token.js';
import { csrfField, csrfValid } from '../csrf.js';
import { page, pageHeaders } from '../layout.js';
import { textsFor, type Texts } from './texts.js';

// The hosted preference centre at /preferences/{signed token}. GET shows the page and changes
// nothing; the form POSTs back to the same URL with a CSRF token, then redirects (303) to the page.
// A link from an unsubscribe page (scope opt-out) shows the same page, but it can only turn off.

const CSRF_COOKIE = 'nf_pref_csrf';

export function preferenceCentre({ db, secrets }: { db: Db; secrets?: SecretBox }) {
  const app = new Hono();

  /** The claim, or the error page to answer (in the language the browser asks for). */
  const claimOf = async (c: Context): Promise<PreferenceClaim | Response> => {
    const { t, locale } = textsFor(c.req.header('accept-language'));
    if (!secrets) return errorPage(c, 503, locale, t, t.invalid);
    const check = await openPreferenceLink(db, secrets, c.req.param('token') ?? '');
    if (check.ok) return check.claim;
    const gone = check.reason === 'expired' || check.reason === 'revoked';
    const status = gone ? 410 : check.reason === 'forged' ? 403 : 400;
    return errorPage(c, status, locale, t, gone ? t.expired : t.invalid);
  };

  const show = async (c: Context, claim: PreferenceClaim, state: { status?: ContentfulStatusCode; saved?: boolean; errors?: ChoiceError[] } = {}) => {
    const choices = await loadChoices(db, claim.tenantId, claim.userId);
    const { t, locale } = textsFor(choices?.locale ?? c.req.header('accept-language'));
    if (!choices) return errorPage(c, 404, locale, t, t.notFound);
    const csrf = csrfField(c, secrets!, { cookie: CSRF_COOKIE, path: '/preferences', scope: `pref:${claim.tenantId}:${claim.userId}` });
    return c.html(
      page({
        lang: locale,
        title: t.title,
        brand: choices.tenantName,
        body: centre(c.req.path, choices, t, locale, csrf, { ...state, optOutOnly: claim.scope === 'opt-out' }),
      }),
      state.status ?? 200,
      pageHeaders,
    );
  };

  app.get('/:token', async (c) => {
    const claim = await claimOf(c);
    if (claim instanceof Response) return claim;
    return show(c, claim, { saved: c.req.query('saved') === '1' });
  });

  app.post('/:token', async (c) => {
    const claim = await claimOf(c);
    if (claim instanceof Response) return claim;
    const type = c.req.header('content-type') ?? '';
    const { t, locale } = textsFor(c.req.header('accept-language'));
    if (!/^application\/x-www-form-urlencoded|^multipart\/form-data/i.test(type)) return errorPage(c, 415, locale, t, t.invalid);
    const form = await c.req.parseBody({ all: true }).catch(() => undefined);
    if (!form) return errorPage(c, 400, locale, t, t.invalid);
    if (!csrfValid(c, secrets!, { cookie: CSRF_COOKIE, scope: `pref:${claim.tenantId}:${claim.userId}` }, form.csrf))
      return errorPage(c, 403, locale, t, t.invalid);
    const values = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
    const chosen: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(form)) if (name.startsWith('c:')) chosen[name.slice(2)] = values(value);
    // "Each time" or "daily digest" per category; mandatory ones are not offered (and not taken).
    const frequency: Record<string, Frequency> = {};
    for (const [name, value] of Object.entries(form))
      if (name.startsWith('f:') && (value === 'each' || value === 'digest')) frequency[name.slice(2)] = value;
    const user = await loadChoices(db, claim.tenantId, claim.userId);
    if (!user) return errorPage(c, 404, locale, t, t.notFound);
    const ut = textsFor(user.locale).t;
    const errors = await saveChoices(db, {
      tenantId: claim.tenantId,
      userId: claim.userId,
      optOutOnly: claim.scope === 'opt-out',
      chosen,
      consent: new Set(values(form.consent)),
      consentText: () => ut.consentLabel(user.tenantName),
    });
    if (errors) return show(c, claim, { status: 422, errors });
    const offered = Object.fromEntries(Object.entries(frequency).filter(([key]) => user.categories.some((cat) => cat.key === key && !cat.mandatory)));
    if (Object.keys(offered).length) await saveFrequency(db, claim.tenantId, claim.userId, offered);
    return c.redirect(`${c.req.path}?saved=1`, 303);
  });

  return app;
}

function centre(
  action: string,
  u: UserChoices,
  t: Texts,
  locale: string,
  csrf: string,
  state: { saved?: boolean; errors?: ChoiceError[]; optOutOnly?: boolean },
) {
  // Opt-out only: what is off stays off (disabled), and consent can be withdrawn but not given.
  const locked = (on: boolean) => (state.optOutOnly && !on ? ' disabled' : '');
  const name = (key: string) => t.categories[key]?.name ?? key;
  const date = (d: Date) => new Intl.DateTimeFormat(locale, { dateStyle: 'long' }).format(d);
  return html`<h1>${t.title}</h1>
    <p>${t.intro(u.tenantName)}</p>
    ${state.optOutOnly ? html`<p class="hint" id="opt-out-only">${t.optOutOnly}</p>` : ''}
    ${state.saved ? html`<p class="status" role="status">${t.saved}</p>` : ''}
    ${
      state.errors?.length
        ? html`<div class="alert" role="alert">
            <h2>${t.errors.heading}</h2>
            <ul>
              ${state.errors.map((e) => html`<li>${name(e.category)}: ${t.errors[e.problem]}</li>`)}
            </ul>
          </div>`
        : ''
    }
    <form method="post" action="${action}">
      <input type="hidden" name="csrf" value="${csrf}" />
      ${u.categories.map(
        (cat) =>
          html`<fieldset id="cat-${cat.key}" aria-describedby="hint-${cat.key}${cat.mandatory ? ` locked-${cat.key}` : ''}">
            <legend>${name(cat.key)}</legend>
            <p class="hint" id="hint-${cat.key}">${t.categories[cat.key]?.hint ?? ''}</p>
            ${cat.mandatory ? html`<p class="locked" id="locked-${cat.key}"><strong>${t.locked}</strong> — ${t.mandatoryReason}</p>` : ''}
            ${cat.available.map(
              (ch) =>
                html`<div class="toggle">
                  <input
                    type="checkbox"
                    role="switch"
                    id="c-${cat.key}-${ch}"
                    name="c:${cat.key}"
                    value="${ch}"
                    ${cat.channels.includes(ch) ? ' checked' : ''}${cat.mandatory ? ' disabled' : locked(cat.channels.includes(ch))}
                  /><label for="c-${cat.key}-${ch}">${t.channels[ch] ?? ch}</label>
                </div>`,
            )}
            ${
              cat.mandatory
                ? ''
                : html`<div class="frequency" role="radiogroup" aria-label="${t.frequency.label}: ${name(cat.key)}">
                    ${(['each', 'digest'] as const).map(
                      (f) =>
                        html`<label for="f-${cat.key}-${f}"
                          ><input type="radio" id="f-${cat.key}-${f}" name="f:${cat.key}" value="${f}" ${cat.frequency === f ? ' checked' : ''} />
                          ${t.frequency[f]}</label
                        >`,
                    )}
                  </div>`
            }
            ${
              cat.requiresOptIn && (cat.optedInAt || !state.optOutOnly)
                ? html`<div class="consent">
                    <label for="consent-${cat.key}"
                      ><input type="checkbox" id="consent-${cat.key}" name="consent" value="${cat.key}" ${cat.optedInAt ? ' checked' : ''} />
                      <span>${t.consentLabel(u.tenantName)}</span></label
                    >${cat.optedInAt ? html`<p class="hint">${t.consentRecorded(date(cat.optedInAt))}</p>` : ''}
                  </div>`
                : ''
            }
          </fieldset>`,
      )}
      <button type="submit">${t.save}</button>
    </form>`;
}

function errorPage(c: Context, status: ContentfulStatusCode, locale: string, t: Texts, message: string) {
  return c.html(
    page({
      lang: locale,
      title: t.title,
      brand: 'notiflow',
      body: html`<h1>${t.title}</h1>
        <p class="alert" role="alert">${message}</p>`,
    }),
    status,
    pageHeaders,
  );
}
