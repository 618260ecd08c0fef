import type { Hono } from 'hono';
import { html } from 'hono/html';
import { deliveryCounts, deliveryDimensions, deliveryMeasures, type DeliveryCounts } from '../../domain/monitor/delivery-daily.js';
import { deliveryCharts } from './delivery-chart.js';
import type { ConsolePageKit } from './message-log.js';

// /console/deliveries: sent, delivered, deferred, bounced, complained and suppressed per UTC day,
// for every tenant or one, every provider or one, read from the daily rollup (delivery_daily).

const RANGES = [7, 14, 30, 90] as const;
const DAY_MS = 86_400_000;

const dayOf = (t: number) => new Date(t).toISOString().slice(0, 10);

export function deliveriesPage(app: Hono, kit: ConsolePageKit) {
  app.get('/deliveries', async (c) => {
    const days = RANGES.find((r) => String(r) === c.req.query('days')) ?? 14;
    const tenant = (c.req.query('tenant') ?? '').slice(0, 200);
    const provider = (c.req.query('provider') ?? '').slice(0, 200);
    const now = Date.now();
    const range = { from: dayOf(now - (days - 1) * DAY_MS), to: dayOf(now) };
    const [counts, dims] = await Promise.all([
      deliveryCounts(kit.db, { ...range, tenantId: tenant || undefined, provider: provider || undefined }),
      deliveryDimensions(kit.db, range),
    ]);
    const allDays = Array.from({ length: days }, (_, i) => dayOf(now - (days - 1 - i) * DAY_MS));
    const byDay = new Map<string, DeliveryCounts>(counts.byDay.map(({ key, ...n }) => [key, n]));
    const link = (q: Record<string, string>) =>
      `/console/deliveries?${new URLSearchParams(Object.entries({ days: String(days), tenant, provider, ...q }).filter(([, v]) => v))}`;
    const select = (name: string, label: string, values: string[], chosen: string) =>
      html`<p style="margin:.3rem 0">
        <label for="d-${name}">${label}</label><br />
        <select id="d-${name}" name="${name}" style="width:100%">
          <option value="">all</option>
          ${[...new Set([...values, ...(chosen ? [chosen] : [])])].map((v) => html`<option value="${v}" ${v === chosen ? 'selected' : ''}>${v}</option>`)}
        </select>
      </p>`;
    const countsTable = (id: string, caption: string, head: string, rows: { key: string; cells: DeliveryCounts; href?: string }[]) =>
      html`<div style="overflow-x:auto">
        <table id="${id}">
          <caption>
            ${caption}
          </caption>
          <thead>
            <tr>
              <th scope="col">${head}</th>
              ${deliveryMeasures.map((m) => html`<th scope="col">${m}</th>`)}
            </tr>
          </thead>
          <tbody>
            ${
              rows.length === 0
                ? html`<tr>
                    <td colspan="${deliveryMeasures.length + 1}">Nothing recorded in these days</td>
                  </tr>`
                : rows.map(
                    (r) =>
                      html`<tr data-key="${r.key}">
                        <th scope="row">${r.href ? html`<a href="${r.href}">${r.key}</a>` : r.key}</th>
                        ${deliveryMeasures.map((m) => html`<td data-measure="${m}">${r.cells[m]}</td>`)}
                      </tr>`,
                  )
            }
          </tbody>
        </table>
      </div>`;
    const scope = `${tenant ? `tenant ${tenant}` : 'every tenant'}, ${provider ? `provider ${provider}` : 'every provider'}`;
    return kit.send(
      c,
      html`<h1>Deliveries</h1>
        <form method="get" action="/console/deliveries" aria-label="Choose what the chart shows">
          <div style="display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:0 1rem">
            ${select('tenant', 'Tenant', dims.tenants, tenant)} ${select('provider', 'Provider', dims.providers, provider)}
            <p style="margin:.3rem 0">
              <label for="d-days">Days</label><br />
              <select id="d-days" name="days" style="width:100%">
                ${RANGES.map((r) => html`<option value="${r}" ${r === days ? 'selected' : ''}>last ${r}</option>`)}
              </select>
            </p>
          </div>
          <button type="submit">Show</button>
        </form>
        <section aria-labelledby="h-per-day">
          <h2 id="h-per-day">Per day: ${scope}</h2>
          ${deliveryCharts({ scope: `${range.from} to ${range.to} (UTC), ${scope}`, days: allDays, counts: byDay, measures: deliveryMeasures })}
          ${countsTable(
            'per-day',
            'Per UTC day (days with any)',
            'Day',
            counts.byDay.map(({ key, ...cells }) => ({ key, cells })),
          )}
        </section>
        <section aria-labelledby="h-per-tenant">
          <h2 id="h-per-tenant">Per tenant</h2>
          ${countsTable(
            'per-tenant',
            `Totals from ${range.from} to ${range.to}; a tenant's name shows its chart`,
            'Tenant',
            counts.byTenant.map(({ key, ...cells }) => ({ key, cells, href: link({ tenant: key }) })),
          )}
        </section>
        <section aria-labelledby="h-per-provider">
          <h2 id="h-per-provider">Per provider</h2>
          ${countsTable(
            'per-provider',
            `Totals from ${range.from} to ${range.to}; "unknown": suppressed before a provider was chosen`,
            'Provider',
            counts.byProvider.map(({ key, ...cells }) => ({ key, cells, href: link({ provider: key }) })),
          )}
        </section>`,
    );
  });
}
