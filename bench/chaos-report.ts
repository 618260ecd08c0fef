// What the chaos run concludes from what the receivers got, what the engine recorded and when the
// faults happened. A second copy of a message is "explained" only when the engine had no record of
// the first copy (no accepted attempt covering its 250) and a fault was under way between the first
// copy's 250 and the second copy: the window at-least-once delivery cannot close. Anything else is
// an engine bug and fails the run.

export type Channel = 'email' | 'push';

export interface ChaosEvent {
  kind: 'worker killed' | 'worker exited by itself' | 'PostgreSQL restarted' | 'Temporal restarted';
  /** Epoch ms the fault began (kill sent, server stopping). */
  at: number;
  /** Epoch ms the part was back (ready again). */
  until: number;
}

export interface NotificationFacts {
  id: string;
  expected: Channel[];
  /** Epoch ms of each copy's acceptance by a receiver (250 / FCM 200), per channel. */
  copies: Record<Channel, number[]>;
  /** Accepted attempts the engine recorded: when the try started and when its record was written. */
  recorded: { channel: Channel; startedAt: number; finishedAt: number }[];
  /** Final status and delivered channels as GET /v1/notifications/{id} answers (undefined: not found). */
  status?: string;
  deliveredChannels?: Channel[];
}

export interface Duplicate {
  id: string;
  channel: Channel;
  firstAt: number;
  againAt: number;
  /** The fault under way between the two copies (undefined: unexplained). */
  cause?: string;
  /** Why it is not explained, when it is not. */
  problem?: string;
}

export interface ChaosSummary {
  triggered: number;
  delivered: number;
  lost: string[];
  duplicates: Duplicate[];
  disagreements: { id: string; status: string; deliveredChannels: Channel[]; received: Channel[] }[];
  notFinal: number;
}

/** Clock skew allowed between the receiver's note of a 250 and Postgres's timestamps (same machine). */
const SKEW_MS = 50;
const FINAL = new Set(['delivered', 'failed', 'cancelled', 'skipped', 'suppressed', 'bounced', 'complained']);

export function summarise(facts: NotificationFacts[], events: ChaosEvent[]): ChaosSummary {
  const lost: string[] = [];
  const duplicates: Duplicate[] = [];
  const disagreements: ChaosSummary['disagreements'] = [];
  let delivered = 0;
  let notFinal = 0;
  for (const n of facts) {
    const received = (['email', 'push'] as const).filter((c) => n.copies[c].length > 0);
    if (received.length > 0) delivered++;
    if (n.expected.some((c) => n.copies[c].length === 0)) lost.push(n.id);
    for (const channel of ['email', 'push'] as const) {
      const copies = [...n.copies[channel]].sort((a, b) => a - b);
      for (let k = 1; k < copies.length; k++) duplicates.push(explain(n, channel, copies[k - 1]!, copies[k]!, events));
    }
    const status = n.status ?? 'not found';
    if (!FINAL.has(status)) notFinal++;
    const shown = [...(n.deliveredChannels ?? [])].sort();
    const agrees = received.length > 0 ? status === 'delivered' && shown.join() === received.join() : status !== 'delivered' && shown.length === 0;
    if (!agrees) disagreements.push({ id: n.id, status, deliveredChannels: shown, received });
  }
  return { triggered: facts.length, delivered, lost, duplicates, disagreements, notFinal };
}

function explain(n: NotificationFacts, channel: Channel, firstAt: number, againAt: number, events: ChaosEvent[]): Duplicate {
  const dup = { id: n.id, channel, firstAt, againAt };
  // The engine recorded the first copy as accepted and sent it again anyway: no fault excuses that.
  const recorded = n.recorded.find((r) => r.channel === channel && r.startedAt - SKEW_MS <= firstAt && firstAt <= r.finishedAt + SKEW_MS);
  if (recorded) return { ...dup, problem: `the first copy was recorded at +${recorded.finishedAt - firstAt} ms and sent again` };
  // Every fault under way between the two copies is named: the reader sees them all, not the first.
  const faults = events.filter((e) => e.at <= againAt && e.until >= firstAt - SKEW_MS && (e.kind !== 'worker killed' || e.at >= firstAt - SKEW_MS));
  if (faults.length === 0) return { ...dup, problem: 'no record of the first copy, and no fault between the two copies' };
  const when = (f: ChaosEvent) => (f.at >= firstAt ? `${f.at - firstAt} ms after the 250` : `down since ${firstAt - f.at} ms before the 250`);
  return { ...dup, cause: `${faults.map((f) => `${f.kind}: ${when(f)}`).join('; ')}; no record of the first copy` };
}

/** The table the run prints (and RELIABILITY.md keeps). */
export function formatTable(s: ChaosSummary, extra: [string, string | number][]): string {
  const unexplained = s.duplicates.filter((d) => !d.cause);
  const rows: [string, string | number][] = [
    ['triggered (accepted by the API)', s.triggered],
    ['delivered (reached a receiver)', s.delivered],
    ['lost (an expected copy never arrived)', s.lost.length],
    ['duplicates at the receivers', s.duplicates.length],
    ['  explained (cut between 250 and record)', s.duplicates.length - unexplained.length],
    ['  unexplained', unexplained.length],
    ['statuses disagreeing with the receivers', s.disagreements.length],
    ['not in a final status at the end', s.notFinal],
    ...extra,
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return ['| what | count |', '|---|---:|', ...rows.map(([k, v]) => `| ${k.padEnd(width)} | ${v} |`)].join('\n');
}

export function failed(s: ChaosSummary): boolean {
  return s.lost.length > 0 || s.duplicates.some((d) => !d.cause) || s.disagreements.length > 0;
}
