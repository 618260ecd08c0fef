import { createRoute, z } from '@hono/zod-openapi';
import { and, eq } from 'drizzle-orm';
import { recordPreferenceChange } from '../domain/privacy/consent.js';
import { checkUnsubscribeToken, SHAPE as TOKEN_SHAPE, type UnsubscribeClaim } from '../domain/feedback/unsubscribe-token.js';
import type { Db } from '../db/client.js';
import { categories, preferences, tenants, users } from '../db/schema.js';
import { html } from 'hono/html';
import type { Context } from 'hono';
import { optOutPreferenceUrl } from '../domain/preferences/link-token.js';
import { page, pageHeaders } from '../web/layout.js';
import { textsFor, type Texts } from '../web/preferences/texts.js';
import { jsonResponse, OPEN, problemResponses, router } from './contract.js';
import type { ApiDeps } from './env.js';
import { UnsubscribeResult } from './feedback-schemas.js';
import { ApiProblem, problems } from './problem.js';

// RFC 8058 one-click unsubscribe. The link itself is the credential (opaque, expiring, single-use), so no
// API key: the mailbox provider POSTs "List-Unsubscribe=One-Click" and the category's e-mail
// stops at once. A GET (a person clicking the footer link, or a link scanner) changes nothing.

const invalid = (status: 400 | 404 | 410, type: string, detail: string) =>
  new ApiProblem(status, { type, title: status === 410 ? 'Unsubscribe link no longer valid' : 'Invalid unsubscribe link', detail });
const refusal = {
  malformed: invalid(400, 'unsubscribe-link-invalid', 'The unsubscribe link is malformed'),
  unknown: invalid(404, 'unsubscribe-link-invalid', 'This unsubscribe link is not valid (unknown link)'),
  revoked: invalid(
    410,
    'unsubscribe-link-revoked',
    'This unsubscribe link is no longer valid: it was used, revoked, or you subscribed again; use the preferences in the app instead',
  ),
  expired: invalid(
    410,
    'unsubscribe-link-expired',
    'This unsubscribe link has expired and is no longer valid; use the preferences in the app instead',
  ),
};

// The shape is the handler's own check (a person gets a page for a malformed link, so it is no validator), stated for the document.
const tokenParam = z.object({
  token: z.string().describe('Opaque token from the List-Unsubscribe link').openapi({ pattern: TOKEN_SHAPE.source }),
});
/** A link that is malformed (400), unknown (404), used, revoked or expired (410): a page for a person, a problem for anyone else. */
const DEAD_LINK = [400, 404, 410] as const;
const htmlContent = { 'text/html': { schema: z.string() } };
const deadLinkResponses = Object.fromEntries(
  Object.entries(problemResponses(...DEAD_LINK)).map(([code, r]) => [code, { ...r, content: { ...r.content, ...htmlContent } }]),
) as unknown as Record<
  (typeof DEAD_LINK)[number],
  { description: string; content: ReturnType<typeof problemResponses<400>>[400]['content'] & typeof htmlContent }
>;

/** A person's browser (a footer link, the page's form) asks for HTML; a mailbox provider's one-click POST does not. */
/** Who reads the page: their texts and locale, and the tenant's name for the header. */
type Reader = ReturnType<typeof textsFor> & { brand: string };

const wantsPage = (c: Context) => /text\/html/i.test(c.req.header('accept') ?? '');

const confirmPage = createRoute({
  method: 'get',
  path: '/{token}',
  summary: 'Confirmation page for a person following the footer link (changes nothing)',
  ...OPEN,
  request: { params: tokenParam },
  responses: { 200: { description: 'HTML form', content: htmlContent }, ...deadLinkResponses, ...problemResponses(503) },
});
const oneClick = createRoute({
  method: 'post',
  path: '/{token}',
  summary: "RFC 8058 one-click unsubscribe: turns the category's e-mail off at once",
  ...OPEN,
  request: {
    params: tokenParam,
    // Checked by the handler, which answers 400 for any other body (RFC 8058), so not a validator.
    body: {
      required: true,
      content: {
        'application/x-www-form-urlencoded': {
          schema: { type: 'object', properties: { 'List-Unsubscribe': { type: 'string', enum: ['One-Click'] } }, required: ['List-Unsubscribe'] },
        },
      },
    },
  },
  responses: {
    200: {
      description: 'Unsubscribed (a confirmation page when the request accepts text/html)',
      content: { ...jsonResponse(UnsubscribeResult, '').content, ...htmlContent },
    },
    ...deadLinkResponses,
    ...problemResponses(409, 413, 503),
  },
});

export function unsubscribeApi({ db, secrets, publicUrl }: ApiDeps) {
  const app = router();

  const claimOf = async (tx: Pick<Db, 'select' | 'update'>, token: string, consume: boolean): Promise<UnsubscribeClaim> => {
    if (!secrets) throw problems.unavailable('Unsubscribe links need the engine secret key, which this API was not given');
    const check = await checkUnsubscribeToken(tx, token, consume);
    if (!check.ok) throw refusal[check.reason];
    return check.claim;
  };

  /** The page a person sees, in the user's language under the tenant's name when the link is valid, else the browser's language (Accept-Language). */
  const personPage = (c: Context, who: Reader, status: 200 | 400 | 404 | 410, body: ReturnType<typeof html>) =>
    c.html(page({ lang: who.locale, title: who.t.unsubscribe.title, brand: who.brand, body }), status, pageHeaders);
  const readerOf = async (claim: UnsubscribeClaim | undefined, c: Context): Promise<Reader> => {
    const [user] = claim
      ? await db
          .select({ locale: users.locale, brand: tenants.name })
          .from(users)
          .innerJoin(tenants, eq(tenants.id, users.tenantId))
          .where(eq(users.id, claim.userId))
      : [];
    return { ...textsFor(user?.locale ?? c.req.header('accept-language')), brand: user?.brand ?? 'notiflow' };
  };
  const moreLink = (c: Context, token: string, t: Texts) =>
    // Whoever holds this mail (a forward, a link scanner) gets this link too: it may only turn
    // channels off, and only while this unsubscribe link itself still works.
    html`<p>
      <a href="${optOutPreferenceUrl(secrets!, publicUrl ?? new URL(c.req.url).origin, token)}">${t.unsubscribeMore}</a>
    </p>`;
  /** A refused link: a page for a person, the problem for anyone else. */
  const refused = async (c: Context, err: unknown) => {
    if (!(err instanceof ApiProblem) || !wantsPage(c) || !(DEAD_LINK as readonly number[]).includes(err.status)) throw err;
    const who = await readerOf(undefined, c);
    const { t } = who;
    return personPage(
      c,
      who,
      err.status as 400 | 404 | 410,
      html`<h1>${t.unsubscribe.title}</h1>
        <p class="alert" role="alert">${err.status === 410 ? t.unsubscribe.dead : t.invalid}</p>`,
    );
  };

  app.openapi(confirmPage, async (c) => {
    const { token } = c.req.valid('param');
    let claim: UnsubscribeClaim;
    try {
      claim = await claimOf(db, token, false);
    } catch (err) {
      return refused(c, err);
    }
    const who = await readerOf(claim, c);
    const { t } = who;
    const category = t.categories[claim.category]?.name ?? claim.category;
    return personPage(
      c,
      who,
      200,
      html`<h1>${t.unsubscribe.title}</h1>
        <p>${t.unsubscribe.ask(category)}</p>
        <form method="post" action="${c.req.path}">
          <input type="hidden" name="List-Unsubscribe" value="One-Click" /><button type="submit">${t.unsubscribe.button}</button>
        </form>
        ${moreLink(c, token, t)}`,
    );
  });

  app.openapi(oneClick, async (c) => {
    const { token } = c.req.valid('param');
    try {
      await claimOf(db, token, false);
    } catch (err) {
      return refused(c, err);
    }
    const type = c.req.header('content-type') ?? '';
    const form = /x-www-form-urlencoded|multipart\/form-data/i.test(type) ? await c.req.parseBody() : {};
    if (form['List-Unsubscribe'] !== 'One-Click') {
      throw problems.badRequest('A one-click unsubscribe POST carries the form body "List-Unsubscribe=One-Click" (RFC 8058)');
    }
    // The link is used up in the transaction that unsubscribes: it works once.
    let claimed: UnsubscribeClaim | undefined;
    const result = await db.transaction(async (tx) => {
      const claim = await claimOf(tx, token, true);
      claimed = claim;
      const [row] = await tx
        .select({
          externalId: users.externalId,
          defaults: categories.defaultChannels,
          mandatory: categories.mandatory,
          requiresOptIn: categories.requiresOptIn,
          chosen: preferences.channels,
        })
        .from(users)
        .innerJoin(categories, and(eq(categories.tenantId, users.tenantId), eq(categories.key, claim.category)))
        .leftJoin(preferences, and(eq(preferences.userId, users.id), eq(preferences.categoryKey, claim.category)))
        .where(and(eq(users.id, claim.userId), eq(users.tenantId, claim.tenantId)));
      if (!row) throw problems.notFound('The user or category of this link no longer exists');
      if (row.mandatory) throw problems.conflict(`${claim.category} alerts are mandatory and can't be unsubscribed from`);
      const channels = (row.chosen ?? row.defaults).filter((ch) => ch !== 'email');
      // A consent-ledger record (source unsubscribe-link); an opt-in category left with no channel loses its opt-in.
      await recordPreferenceChange(tx, {
        tenantId: claim.tenantId,
        userId: claim.userId,
        externalId: row.externalId,
        categories: { [claim.category]: channels as ('email' | 'push')[] },
        source: 'unsubscribe-link',
        actor: 'link',
        auditStep: 'preferences.unsubscribed',
      });
      return { category: claim.category, channels };
    });
    if (wantsPage(c) && claimed) {
      const who = await readerOf(claimed, c);
      const { t } = who;
      const category = t.categories[result.category]?.name ?? result.category;
      return personPage(
        c,
        who,
        200,
        html`<h1>${t.unsubscribe.title}</h1>
          <p class="status" role="status">${t.unsubscribe.done(category)}</p>`,
      );
    }
    return c.json({ unsubscribed: true, ...result }, 200);
  });

  return app;
}
