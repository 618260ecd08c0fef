import type { Context, Hono } from 'hono';
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Db } from '../../db/client.js';
import { decodeCursor, listNotifications, type NotificationFilter } from '../../domain/notifications/list.js';
import { channels, notificationStatuses, type Channel, type NotificationStatus } from '../../domain/notifications/status.js';
import { detailUrl, workflowUrl } from './links.js';

// /console/log: every tenant's notifications, newest first, with the filters of GET
// /v1/notifications plus the tenant, paged by the same cursor (domain/notifications/list.ts).
// Each row links to its detail page and its workflow in the Temporal UI.

export interface ConsolePageKit {
  db: Db;
  temporalUiUrl?: string;
  namespace: () => string;
  send: (c: Context, body: HtmlEscapedString | Promise<HtmlEscapedString>, status?: ContentfulStatusCode) => Response | Promise<Response>;
}

const PAGE_SIZE = 50;
const textFields = ['tenant', 'type', 'category', 'user'] as const;
const fields = [...textFields, 'status', 'channel', 'from', 'to', 'limit'] as const;
type Form = Partial<Record<(typeof fields)[number], string>>;

/** A day (UTC midnight) or a time; without an offset, UTC. */
function parseTime(s: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?)?$/i.test(s)) return undefined;
  const iso = s.length === 10 ? `${s}T00:00:00Z` : /(Z|[+-]\d{2}:\d{2})$/i.test(s) ? s : `${s}Z`;
  const t = new Date(iso.replace(' ', 'T'));
  return Number.isNaN(t.getTime()) ? undefined : t;
}

/** The filter the query names, or what is wrong with it. */
function filterOf(form: Form, cursor: string | undefined): { filter: NotificationFilter } | { error: string } {
  for (const f of textFields) if ((form[f]?.length ?? 0) > 200) return { error: `${f} is longer than 200 characters` };
  if (form.status && !notificationStatuses.includes(form.status as NotificationStatus))
    return { error: `status must be one of ${notificationStatuses.join(', ')}` };
  if (form.channel && !channels.includes(form.channel as Channel)) return { error: `channel must be one of ${channels.join(', ')}` };
  const from = form.from ? parseTime(form.from) : undefined;
  const to = form.to ? parseTime(form.to) : undefined;
  if (form.from && !from) return { error: 'from is not a day (2026-12-06) or a time (2026-12-06T08:00Z)' };
  if (form.to && !to) return { error: 'to is not a day (2026-12-06) or a time (2026-12-06T08:00Z)' };
  if (from && to && from >= to) return { error: 'from must be before to' };
  const limit = form.limit ? Number(form.limit) : PAGE_SIZE;
  if (!Number.isInteger(limit) || limit < 1 || limit > 100) return { error: 'limit must be a whole number from 1 to 100' };
  const after = cursor ? decodeCursor(cursor) : undefined;
  if (cursor && !after) return { error: 'The page link is not one the log gave out; start again from the first page' };
  return {
    filter: {
      tenantId: form.tenant || undefined,
      status: (form.status || undefined) as NotificationStatus | undefined,
      type: form.type || undefined,
      category: form.category || undefined,
      user: form.user || undefined,
      channel: (form.channel || undefined) as Channel | undefined,
      from,
      to,
      limit,
      after,
    },
  };
}

/** On a phone each row becomes a card of labelled lines, so status and links need no sideways scroll. */
const phoneRows = raw(`<style>
@media (max-width: 40rem) {
  #log thead { display: none }
  #log, #log tbody, #log tr, #log td { display: block; width: 100% }
  #log tr { border: 1px solid var(--line); margin: 0 0 .6rem; background: #fff }
  #log td { border: 0; padding: .1rem .5rem }
  #log caption { display: block; text-align: left }
  #log td::before { content: attr(data-label) ": "; font-weight: 600; color: var(--muted) }
}
</style>`);

const option = (value: string, chosen: string | undefined, label = value) =>
  html`<option value="${value}" ${value === (chosen ?? '') ? 'selected' : ''}>${label}</option>`;

export function messageLogPage(app: Hono, kit: ConsolePageKit) {
  app.get('/log', async (c) => {
    const form: Form = Object.fromEntries(fields.map((f) => [f, (c.req.query(f) ?? '').trim()]).filter(([, v]) => v));
    const parsed = filterOf(form, c.req.query('cursor'));
    const page = 'filter' in parsed ? await listNotifications(kit.db, parsed.filter) : undefined;
    const query = (extra: Record<string, string>) => new URLSearchParams({ ...form, ...extra } as Record<string, string>).toString();
    const input = (f: (typeof textFields)[number] | 'from' | 'to', label: string, hint?: string) =>
      html`<p style="margin:.3rem 0">
        <label for="log-${f}">${label}</label><br /><input
          type="text"
          id="log-${f}"
          name="${f}"
          value="${form[f] ?? ''}"
          ${hint ? html`placeholder="${hint}"` : ''}
          style="width:100%"
        />
      </p>`;
    return kit.send(
      c,
      html`<h1>Message log</h1>
        <form method="get" action="/console/log" role="search" aria-label="Filter the log">
          <div style="display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:0 1rem">
            ${input('tenant', 'Tenant')} ${input('user', 'User (the app’s id)')} ${input('type', 'Type')} ${input('category', 'Category')}
            <p style="margin:.3rem 0">
              <label for="log-status">Status</label><br /><select id="log-status" name="status" style="width:100%">
                ${option('', form.status, 'any')} ${notificationStatuses.map((s) => option(s, form.status))}
              </select>
            </p>
            <p style="margin:.3rem 0">
              <label for="log-channel">Channel</label><br /><select id="log-channel" name="channel" style="width:100%">
                ${option('', form.channel, 'any')} ${channels.map((s) => option(s, form.channel))}
              </select>
            </p>
            ${input('from', 'From (UTC)', '2026-12-06 or 2026-12-06T08:00Z')} ${input('to', 'Before (UTC)', '2026-12-07')}
          </div>
          <button type="submit">Show</button> <a href="/console/log">Clear</a>
        </form>
        ${'error' in parsed ? html`<p class="alert" role="alert">${parsed.error}</p>` : ''}
        ${
          page
            ? html`${phoneRows}
                <div style="overflow-x:auto">
                  <table id="log">
                    <caption>
                      ${page.notifications.length} shown${page.nextCursor ? ', more on the next page' : ''}${form.tenant ? '' : ' (every tenant)'}
                    </caption>
                    <thead>
                      <tr>
                        <th scope="col">Created (UTC)</th>
                        <th scope="col">Tenant</th>
                        <th scope="col">User</th>
                        <th scope="col">Type</th>
                        <th scope="col">Status</th>
                        <th scope="col">Channels</th>
                        <th scope="col">Links</th>
                      </tr>
                    </thead>
                    <tbody>
                      ${page.notifications.map((n) => {
                        const ui = workflowUrl(kit.temporalUiUrl, kit.namespace(), n.workflowId);
                        return html`<tr data-id="${n.id}">
                          <td data-label="Created">${n.createdAt.toISOString().replace('T', ' ').slice(0, 19)}</td>
                          <td data-label="Tenant">${n.tenantId}</td>
                          <td data-label="User">${n.userId}</td>
                          <td data-label="Type">${n.type}<br /><small>${n.category}</small></td>
                          <td data-label="Status">${n.status}</td>
                          <td data-label="Channels">
                            ${n.channels.join(', ') || '-'}${n.deliveredChannels.length ? html`<br /><small>delivered by ${n.deliveredChannels.join(', ')}</small>` : ''}
                          </td>
                          <td data-label="Links"><a href="${detailUrl(n.id)}">Details</a>${ui ? html` · <a href="${ui}">Workflow</a>` : ''}</td>
                        </tr>`;
                      })}
                    </tbody>
                  </table>
                </div>
                <nav aria-label="Pages">
                  ${c.req.query('cursor') ? html`<a href="/console/log?${query({})}">First page</a>` : ''}
                  ${page.nextCursor ? html`<a href="/console/log?${query({ cursor: page.nextCursor })}" rel="next">Next page</a>` : ''}
                </nav>`
            : ''
        }`,
      'error' in parsed ? 422 : 200,
    );
  });
}
