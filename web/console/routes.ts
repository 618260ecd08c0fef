import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Db } from '../../db/client.js';
import type { ProviderRules } from '../../domain/pool/rules.js';
import { page, pageHeaders } from '../layout.js';
import { scoreChart } from './chart.js';
import { placementPage, type PlacementJson } from './placement.js';
import { acknowledgeAlarm, isUuid, lookupNotification, openAlarms, scoreHistory, searchSuppressions, tenantRows } from './data.js';
import { deliveriesPage } from './deliveries.js';
import { workflowUrl } from './links.js';
import { messageLogPage } from './message-log.js';
import { consoleSessions } from './session.js';
import { dmarcPage } from './dmarc.js';

// The operator console at /console: server-rendered, no script. Signing in with the admin key
// starts a cookie session; every POST carries the session's CSRF token. IP suspensions go through
// the admin JSON API in-process, so the console changes nothing the API would not.

export interface ConsoleDeps {
  db: Db;
  adminKey?: string;
  rules: () => ProviderRules;
  /** Calls the admin JSON API in-process with the operator key. */
  admin: (path: string, init?: { method?: string; body?: unknown }) => Promise<Response>;
  temporalUiUrl?: string;
  namespace: () => string;
}

interface IpJson {
  id: string;
  poolId: string;
  ip: string;
  ehloName: string;
  state: string;
  score: { score: number; events: number };
  controls: { provider: string; kind: string; until: string; reason: string; setBy: string }[];
  providers: Record<string, { state: string; score: { score: number } }>;
  quarantine: { reason: string } | null;
}

export function operatorConsole(deps: ConsoleDeps) {
  const app = new Hono();
  const sessions = consoleSessions(deps.db, deps.adminKey);
  const brand = 'notiflow console';

  const send = (c: Context, body: Parameters<typeof page>[0]['body'], status: ContentfulStatusCode = 200, nonce?: string) =>
    c.html(
      page({
        lang: 'en',
        title: 'Operator console',
        brand,
        header: nonce
          ? html` <nav aria-label="Console">
                <a href="/console">Overview</a><a href="/console/log">Message log</a><a href="/console/deliveries">Deliveries</a
                ><a href="/console/notifications">Notification lookup</a><a href="/console/suppressions">Suppressions</a
                ><a href="/console/dmarc">DMARC</a><a href="/console/placement">Placement</a>
              </nav>
              <form class="inline" method="post" action="/console/sign-out">
                <input type="hidden" name="csrf" value="${sessions.csrfFor(nonce)}" /><button class="secondary" type="submit">Sign out</button>
              </form>`
          : undefined,
        body,
      }),
      status,
      pageHeaders,
    );

  const signInPage = (c: Context, status: ContentfulStatusCode = 200, error?: string) =>
    send(
      c,
      html`<h1>Sign in</h1>
        ${error ? html`<p class="alert" role="alert">${error}</p>` : ''}
        <form method="post" action="/console/sign-in">
          <p>
            <label for="key">Admin key</label><br /><input type="password" id="key" name="key" autocomplete="current-password" required size="48" />
          </p>
          <button type="submit">Sign in</button>
        </form>`,
      status,
    );

  // A POST from another site's page is refused before anything else (SameSite does the same for the cookie).
  app.use(async (c, next) => {
    if (c.req.method === 'POST') {
      const origin = c.req.header('origin');
      if (origin && origin !== 'null' && new URL(origin).host !== new URL(c.req.url).host)
        return send(
          c,
          html`<h1>Refused</h1>
            <p class="alert" role="alert">Cross-site request refused.</p>`,
          403,
        );
    }
    await next();
  });

  app.post('/sign-in', async (c) => {
    if (!sessions.configured) return signInPage(c, 503, 'No operator key is configured (ADMIN_API_KEY); the console is closed.');
    const form = await formOf(c);
    if (!form || !sessions.keyMatches(form.key)) {
      await sessions.audit(false);
      return signInPage(c, 401, 'That is not the admin key.');
    }
    await sessions.audit(true, await sessions.start(c));
    return c.redirect('/console', 303);
  });

  // Everything below needs a session; a POST also needs the session's CSRF token.
  app.use(async (c, next) => {
    const nonce = await sessions.current(c);
    if (!nonce)
      return c.req.method === 'GET'
        ? signInPage(c, c.req.path === '/console' || c.req.path === '/console/' ? 200 : 401)
        : signInPage(c, 401, 'Your session has ended; sign in again.');
    if (c.req.method === 'POST') {
      const form = await formOf(c);
      if (!form || !sessions.csrfOk(nonce, form.csrf))
        return send(
          c,
          html`<h1>Refused</h1>
            <p class="alert" role="alert">The form's security token is missing or stale; reload the page.</p>`,
          403,
          nonce,
        );
      c.set('form' as never, form as never);
    }
    c.set('nonce' as never, nonce as never);
    await next();
  });
  const nonceOf = (c: Context) => c.get('nonce' as never) as string;
  const formIn = (c: Context) => c.get('form' as never) as Record<string, string>;

  app.post('/sign-out', async (c) => {
    await sessions.end(c);
    return c.redirect('/console', 303);
  });

  app.get('/', async (c) => {
    const nonce = nonceOf(c);
    const csrf = sessions.csrfFor(nonce);
    const [tenants, ipsRes, history, alarmRows] = await Promise.all([
      tenantRows(deps.db),
      deps.admin('/v1/admin/ips'),
      scoreHistory(deps.db, deps.rules()),
      openAlarms(deps.db),
    ]);
    const ips = ((await ipsRes.json()) as { ips: IpJson[] }).ips;
    const pools = [...new Set(ips.map((i) => i.poolId))].sort();
    const notice = c.req.query('done');
    return send(
      c,
      html`<h1>Operator console</h1>
        ${notice ? html`<p class="status" role="status">${notice}</p>` : ''}
        <section aria-labelledby="h-tenants">
          <h2 id="h-tenants">Tenants</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Name</th>
                <th scope="col">Pool</th>
                <th scope="col">API keys</th>
                <th scope="col">Sending domains</th>
              </tr>
            </thead>
            <tbody>
              ${tenants.map(
                (t) =>
                  html`<tr>
                    <td>${t.id}</td>
                    <td>${t.name}</td>
                    <td>${t.poolId ?? '-'}</td>
                    <td>
                      ${t.keys.map((k) => html`${k.name} <code>${k.prefix}…</code> (${k.scopes.join(', ')}) ${k.active ? 'active' : 'revoked'}<br />`)}
                    </td>
                    <td>
                      ${t.domains.map((d) => html`${d.domain}: DNS <strong>${d.status}</strong>${d.lastCheckedAt ? ` (checked ${d.lastCheckedAt.toISOString()})` : ''}, DKIM selector ${d.selector}<br />`)}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="h-pools">
          <h2 id="h-pools">Pools and IPs</h2>
          ${pools.map(
            (pool) =>
              html`<h3>Pool ${pool}</h3>
                ${ips
                  .filter((i) => i.poolId === pool)
                  .map(
                    (ip) =>
                      html`<article class="ip" id="ip-${ip.id}" aria-labelledby="ip-h-${ip.id}">
                        <h4 id="ip-h-${ip.id}">${ip.ip} <small>(${ip.id}, ${ip.ehloName})</small></h4>
                        <p>
                          State: <strong class="state">${ip.state}</strong> · score
                          <strong class="score">${ip.score.score}</strong> (${ip.score.events}
                          events)${ip.quarantine ? html` · quarantined: ${ip.quarantine.reason}` : ''}
                        </p>
                        ${scoreChart({ label: `Score of ${ip.ip} over the last 7 days, per provider`, from: history.from, to: history.to, series: history.byIp.get(ip.id) ?? [] })}
                        <table>
                          <caption>
                            Per provider now
                          </caption>
                          <thead>
                            <tr>
                              <th scope="col">Provider</th>
                              <th scope="col">State</th>
                              <th scope="col">Score</th>
                            </tr>
                          </thead>
                          <tbody>
                            ${Object.entries(ip.providers).map(
                              ([p, v]) =>
                                html`<tr>
                                  <td>${p}</td>
                                  <td>${v.state}</td>
                                  <td>${v.score.score}</td>
                                </tr>`,
                            )}
                            ${
                              Object.keys(ip.providers).length === 0
                                ? html`<tr>
                                    <td colspan="3">No traffic recorded yet</td>
                                  </tr>`
                                : ''
                            }
                          </tbody>
                        </table>
                        ${
                          ip.controls.length
                            ? html`<table>
                                <caption>
                                  Suspensions and throttles
                                </caption>
                                <thead>
                                  <tr>
                                    <th scope="col">Provider</th>
                                    <th scope="col">Kind</th>
                                    <th scope="col">Until</th>
                                    <th scope="col">Reason</th>
                                    <th scope="col">By</th>
                                  </tr>
                                </thead>
                                <tbody>
                                  ${ip.controls.map(
                                    (k) =>
                                      html`<tr>
                                        <td>${k.provider}</td>
                                        <td>${k.kind}</td>
                                        <td>${k.until}</td>
                                        <td>${k.reason}</td>
                                        <td>${k.setBy}</td>
                                      </tr>`,
                                  )}
                                </tbody>
                              </table>`
                            : ''
                        }
                        <form method="post" action="/console/ips/${ip.id}/suspend">
                          <input type="hidden" name="csrf" value="${csrf}" /> <label for="p-${ip.id}">Provider</label>
                          <input type="text" id="p-${ip.id}" name="provider" value="*" size="10" /> <label for="m-${ip.id}">Minutes</label>
                          <input type="text" id="m-${ip.id}" name="minutes" value="60" size="5" inputmode="numeric" />
                          <label for="r-${ip.id}">Reason</label>
                          <input type="text" id="r-${ip.id}" name="reason" value="suspended from the console" size="28" />
                          <button type="submit">Suspend ${ip.ip}</button>
                        </form>
                        ${ip.controls.length ? html`<form method="post" action="/console/ips/${ip.id}/resume"><input type="hidden" name="csrf" value="${csrf}" /><button type="submit">Resume ${ip.ip}</button></form>` : ''}
                      </article>`,
                  )}`,
          )}
        </section>
        <section aria-labelledby="h-alarms">
          <h2 id="h-alarms">Open alarms</h2>
          ${alarmRows.length === 0 ? html`<p>No open alarms.</p>` : ''}
          ${
            alarmRows.length
              ? html`<table>
                  <thead>
                    <tr>
                      <th scope="col">Raised</th>
                      <th scope="col">Severity</th>
                      <th scope="col">Scope</th>
                      <th scope="col">Message</th>
                      <th scope="col">Acknowledged</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${alarmRows.map(
                      (a) =>
                        html`<tr>
                          <td>${a.raisedAt.toISOString()}</td>
                          <td>${a.severity}</td>
                          <td>${a.scope}</td>
                          <td>${a.message}</td>
                          <td>
                            ${a.acknowledgedAt ? a.acknowledgedAt.toISOString() : html`<form method="post" action="/console/alarms/${a.id}/acknowledge"><input type="hidden" name="csrf" value="${csrf}" /><button type="submit">Acknowledge</button></form>`}
                          </td>
                        </tr>`,
                    )}
                  </tbody>
                </table>`
              : ''
          }
        </section>`,
      200,
      nonce,
    );
  });

  const ipAction = (action: 'suspend' | 'resume') => async (c: Context) => {
    const form = formIn(c);
    const id = c.req.param('id') ?? '';
    const body =
      action === 'suspend'
        ? { provider: form.provider || '*', minutes: Number(form.minutes), reason: form.reason || 'suspended from the console' }
        : {};
    const res = await deps.admin(`/v1/admin/ips/${encodeURIComponent(id)}/${action}`, { method: 'POST', body });
    if (!res.ok) {
      const problem = (await res.json().catch(() => ({}))) as { detail?: string };
      return send(
        c,
        html`<h1>Not done</h1>
          <p class="alert" role="alert">${problem.detail ?? `The admin API answered ${res.status}`}</p>
          <p><a href="/console">Back</a></p>`,
        res.status === 404 ? 404 : 422,
        nonceOf(c),
      );
    }
    const ip = (await res.json()) as IpJson;
    return c.redirect(`/console?done=${encodeURIComponent(`${ip.ip} ${action === 'suspend' ? 'suspended' : 'resumed'}`)}#ip-${ip.id}`, 303);
  };
  app.post('/ips/:id/suspend', ipAction('suspend'));
  app.post('/ips/:id/resume', ipAction('resume'));

  app.post('/alarms/:id/acknowledge', async (c) => {
    const id = c.req.param('id');
    if (!isUuid(id) || !(await acknowledgeAlarm(deps.db, id)))
      return send(
        c,
        html`<h1>Not found</h1>
          <p class="alert" role="alert">No open, unacknowledged alarm has that id.</p>`,
        404,
        nonceOf(c),
      );
    return c.redirect('/console?done=Alarm+acknowledged#h-alarms', 303);
  });

  app.get('/placement', async (c) => {
    const latest = (await (await deps.admin('/v1/admin/placement/latest')).json()) as PlacementJson;
    return send(c, placementPage(latest), 200, nonceOf(c));
  });

  app.get('/suppressions', async (c) => {
    const q = (c.req.query('q') ?? '').slice(0, 200);
    const rows = q.length >= 2 ? await searchSuppressions(deps.db, q) : [];
    return send(
      c,
      html`<h1>Suppressions</h1>
        <form method="get" action="/console/suppressions" role="search">
          <label for="q">Address contains</label> <input type="search" id="q" name="q" value="${q}" minlength="2" />
          <button type="submit">Search</button>
        </form>
        ${
          q.length >= 2
            ? html`<table>
                <caption>
                  ${rows.length} found (at most 50)
                </caption>
                <thead>
                  <tr>
                    <th scope="col">Tenant</th>
                    <th scope="col">Address</th>
                    <th scope="col">Reason</th>
                    <th scope="col">Source</th>
                    <th scope="col">Since</th>
                  </tr>
                </thead>
                <tbody>
                  ${rows.map(
                    (r) =>
                      html`<tr>
                        <td>${r.tenantId}</td>
                        <td>${r.email}</td>
                        <td>${r.reason}</td>
                        <td>${r.source}</td>
                        <td>${r.createdAt.toISOString()}</td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
            : ''
        }`,
      200,
      nonceOf(c),
    );
  });

  app.get('/dmarc', async (c) => send(c, await dmarcPage(deps.db, deps.rules(), { domain: c.req.query('domain') }), 200, nonceOf(c)));

  app.get('/notifications', async (c) => {
    const id = (c.req.query('id') ?? '').trim();
    const found = id && isUuid(id) ? await lookupNotification(deps.db, id) : undefined;
    const status: ContentfulStatusCode = id && !found ? 404 : 200;
    const ui = found ? workflowUrl(deps.temporalUiUrl, deps.namespace(), found.n.workflowId) : undefined;
    return send(
      c,
      html`<h1>Notification lookup</h1>
        <form method="get" action="/console/notifications" role="search">
          <label for="nid">Notification id</label> <input type="search" id="nid" name="id" value="${id}" size="40" />
          <button type="submit">Look up</button>
        </form>
        ${id && !found ? html`<p class="alert" role="alert">No notification has the id ${id}.</p>` : ''}
        ${
          found
            ? html`<h2>${found.n.type} for tenant ${found.n.tenantId}</h2>
                <p>
                  Status: <strong>${found.n.status}</strong> · channels ${found.n.channels.join(', ') || '-'} · delivered by
                  ${found.n.deliveredChannels.join(', ') || '-'}${found.n.error ? html` · error: ${found.n.error}` : ''}
                </p>
                <p>${ui ? html`<a href="${ui}">Open workflow ${found.n.workflowId} in the Temporal UI</a>` : html`Workflow ${found.n.workflowId}`}</p>
                <h3>Attempts</h3>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">At</th>
                      <th scope="col">Channel</th>
                      <th scope="col">Try</th>
                      <th scope="col">Outcome</th>
                      <th scope="col">Source IP</th>
                      <th scope="col">Provider</th>
                      <th scope="col">Reply</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${found.attempts.map(
                      (a) =>
                        html`<tr>
                          <td>${a.startedAt.toISOString()}</td>
                          <td>${a.channel}</td>
                          <td>${a.attempt}</td>
                          <td>${a.outcome}</td>
                          <td>${a.sourceIp ?? '-'}</td>
                          <td>${a.provider ?? '-'}</td>
                          <td>${a.responseCode ?? ''} ${a.response ?? ''}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>
                <h3>Audit trail</h3>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">At</th>
                      <th scope="col">Step</th>
                      <th scope="col">Detail</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${found.audit.map(
                      (e) =>
                        html`<tr>
                          <td>${e.at.toISOString()}</td>
                          <td>${e.step}</td>
                          <td><code>${JSON.stringify(e.detail)}</code></td>
                        </tr>`,
                    )}
                  </tbody>
                </table>`
            : ''
        }`,
      status,
      nonceOf(c),
    );
  });

  const kit = {
    db: deps.db,
    temporalUiUrl: deps.temporalUiUrl,
    namespace: deps.namespace,
    send: (c: Context, body: Parameters<typeof send>[1], status?: ContentfulStatusCode) => send(c, body, status, nonceOf(c)),
  };
  messageLogPage(app, kit);
  deliveriesPage(app, kit);

  return app;
}

async function formOf(c: Context): Promise<Record<string, string> | undefined> {
  if (!/^application\/x-www-form-urlencoded|^multipart\/form-data/i.test(c.req.header('content-type') ?? '')) return undefined;
  const body = await c.req.parseBody().catch(() => undefined);
  if (!body) return undefined;
  return Object.fromEntries(Object.entries(body).filter((e): e is [string, string] => typeof e[1] === 'string'));
}
