import { html } from 'hono/html';

// The console's placement page (/console/placement): the latest seed placement run, per IP x
// provider, beside the IP's current score for that provider. Data from GET /v1/admin/placement/latest.

export interface PlacementJson {
  run: { id: string; trigger: string; startedAt: string; checkedAt: string | null } | null;
  results: {
    ipId: string;
    ip: string;
    poolId: string;
    provider: string;
    inbox: number;
    spam: number;
    missing: number;
    notSent: number;
    unchecked: number;
    pending: number;
    score: number;
  }[];
}

/** What one cell comes to, in a word: the worst thing that happened to a copy. */
const verdict = (r: PlacementJson['results'][number]) =>
  r.spam ? 'spam folder' : r.missing ? 'missing' : r.unchecked ? 'not read' : r.notSent ? 'not sent' : r.pending ? 'waiting' : 'inbox';

export function placementPage(latest: PlacementJson) {
  const { run, results } = latest;
  return html`<h1>Inbox placement</h1>
    <p class="hint">
      Seed placement: a marked message from each pool IP to each seed mailbox, read back over IMAP. It is a sample of the operator's own mailboxes,
      not a panel of real users. Seeds are managed with <code>/v1/admin/seed-mailboxes</code>.
    </p>
    ${
      run
        ? html`<p>
              Latest run <code>${run.id}</code> (${run.trigger}), started ${run.startedAt},
              ${run.checkedAt ? html`seeds read ${run.checkedAt}` : html`<strong>seeds not read yet</strong>`}.
            </p>
            <table>
              <caption>
                Where each IP's copies landed, per provider
              </caption>
              <thead>
                <tr>
                  <th scope="col">Pool</th>
                  <th scope="col">IP</th>
                  <th scope="col">Provider</th>
                  <th scope="col">Placement</th>
                  <th scope="col">Inbox</th>
                  <th scope="col">Spam</th>
                  <th scope="col">Missing</th>
                  <th scope="col">Not sent / not read</th>
                  <th scope="col">Score</th>
                </tr>
              </thead>
              <tbody>
                ${results.map(
                  (r) =>
                    html`<tr id="placement-${r.ipId}-${r.provider}">
                      <td>${r.poolId}</td>
                      <td><a href="/console#ip-${r.ipId}">${r.ip}</a></td>
                      <td>${r.provider}</td>
                      <td><strong class="placement">${verdict(r)}</strong></td>
                      <td>${r.inbox}</td>
                      <td>${r.spam}</td>
                      <td>${r.missing}</td>
                      <td>${r.notSent} / ${r.unchecked}</td>
                      <td class="score">${r.score}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
        : html`<p>No placement run yet.</p>`
    }`;
}
