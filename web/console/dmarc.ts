// The console's DMARC page: what the aggregate reports say about one sending domain over 30 days
// (per day and source IP: ours or not, pass and alignment, forged sources flagged), and the
// providers' own data (SNDS, Postmaster) beside our per-provider scores.
import { asc } from 'drizzle-orm';
import { html } from 'hono/html';
import type { Db } from '../../db/client.js';
import { sendingDomains } from '../../db/schema.js';
import { dmarcSummary } from '../../domain/dmarc/summary.js';
import type { ProviderRules } from '../../domain/pool/rules.js';
import { providerDataView } from '../../domain/provider-data/view.js';

const dayMs = 86_400_000;
const pct = (part: number, whole: number) => (whole ? `${Math.round((part / whole) * 1000) / 10}%` : '-');

export async function dmarcPage(db: Db, rules: ProviderRules, query: { domain?: string }) {
  const domains = await db
    .select({ domain: sendingDomains.domain, tenantId: sendingDomains.tenantId })
    .from(sendingDomains)
    .orderBy(asc(sendingDomains.domain));
  const chosen = domains.find((d) => d.domain === (query.domain ?? '').toLowerCase()) ?? domains[0];
  const to = new Date().toISOString().slice(0, 10);
  const from = new Date(Date.now() - 30 * dayMs).toISOString().slice(0, 10);
  const [summary, providers] = await Promise.all([
    chosen ? dmarcSummary(db, chosen.tenantId, chosen.domain, from, to) : undefined,
    providerDataView(db, rules, from, to),
  ]);
  const postmaster = providers.domains.find((d) => d.domain === chosen?.domain);
  const snds = providers.ips.filter((i) => i.snds.length > 0);
  return html`<h1>DMARC and provider data</h1>
    <form method="get" action="/console/dmarc">
      <label for="domain">Sending domain</label>
      <select id="domain" name="domain">
        ${domains.map((d) => html`<option value="${d.domain}" ${d === chosen ? 'selected' : ''}>${d.domain} (${d.tenantId})</option>`)}
      </select>
      <button type="submit">Show</button>
    </form>
    ${
      summary
        ? html`<h2>Aggregate reports for ${summary.domain}, ${from} to ${to}</h2>
            <p>${summary.reports} report(s) from ${summary.reporters.join(', ') || 'no reporter yet'}.</p>
            ${summary.days.map(
              (d) =>
                html`<table>
                  <caption>
                    ${d.day}: ${d.messages} messages, DMARC pass ${pct(d.dmarcPass, d.messages)}
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">Source IP</th>
                      <th scope="col">Sender</th>
                      <th scope="col">Messages</th>
                      <th scope="col">DMARC pass</th>
                      <th scope="col">DKIM aligned</th>
                      <th scope="col">SPF aligned</th>
                      <th scope="col">Quarantined / rejected</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${d.sources.map(
                      (s) =>
                        html`<tr data-source="${s.ip}">
                          <td>${s.ip}</td>
                          <td>
                            ${
                              s.ours
                                ? `our pool ${s.pool}`
                                : s.forged
                                  ? html`<strong class="alert">not ours: forged</strong>`
                                  : s.forwarded
                                    ? 'not ours: forwarder'
                                    : 'not ours'
                            }
                          </td>
                          <td>${s.messages}</td>
                          <td>${pct(s.dmarcPass, s.messages)}</td>
                          <td>${pct(s.dkimAligned, s.messages)}</td>
                          <td>${pct(s.spfAligned, s.messages)}</td>
                          <td>${s.quarantined} / ${s.rejected}</td>
                        </tr>`,
                    )}
                  </tbody>
                </table>`,
            )}`
        : html`<p>No sending domains yet.</p>`
    }
    <h2>Google Postmaster Tools</h2>
    ${
      postmaster
        ? html`<p>
              Our Gmail scores for this domain's pool: ${postmaster.ourGmailScores.map((s) => `${s.ip} ${s.score ?? '-'}`).join(', ') || 'none'}
            </p>
            <table>
              <thead>
                <tr>
                  <th scope="col">Day</th>
                  <th scope="col">Spam rate</th>
                  <th scope="col">SPF / DKIM / DMARC success</th>
                  <th scope="col">Domain reputation</th>
                </tr>
              </thead>
              <tbody>
                ${postmaster.postmaster.map(
                  (p) =>
                    html`<tr>
                      <td>${p.day}</td>
                      <td>${p.spamRate === null ? '-' : `${(p.spamRate * 100).toFixed(2)}%`}</td>
                      <td>${[p.spfSuccessRatio, p.dkimSuccessRatio, p.dmarcSuccessRatio].map((r) => (r === null ? '-' : pct(r, 1))).join(' / ')}</td>
                      <td>${p.domainReputation ?? '-'}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
        : html`<p>No Postmaster data imported for this domain (POST /v1/admin/provider-data/postmaster).</p>`
    }
    <h2>Microsoft SNDS</h2>
    ${
      snds.length
        ? html`<table>
            <thead>
              <tr>
                <th scope="col">IP</th>
                <th scope="col">Our Outlook score</th>
                <th scope="col">Day</th>
                <th scope="col">Filter result</th>
                <th scope="col">Complaint rate</th>
                <th scope="col">Trap hits</th>
                <th scope="col">Recipients</th>
              </tr>
            </thead>
            <tbody>
              ${snds.flatMap((i) =>
                i.snds.map(
                  (s) =>
                    html`<tr data-snds="${i.ip}">
                      <td>${i.ip}${i.pool ? ` (${i.pool})` : ' (not ours)'}</td>
                      <td>${i.ourOutlookScore ?? '-'}</td>
                      <td>${s.day}</td>
                      <td>${s.filterResult}</td>
                      <td>${s.complaintRate}</td>
                      <td>${s.trapHits}</td>
                      <td>${s.messageRecipients}</td>
                    </tr>`,
                ),
              )}
            </tbody>
          </table>`
        : html`<p>No SNDS data imported (POST /v1/admin/provider-data/snds).</p>`
    }`;
}
