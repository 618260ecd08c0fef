// Load on POST /v1/notifications over real HTTP with autocannon: a burst of N (as fast as the
// API accepts with bounded concurrency) or a fixed overall rate for a bounded time. Every request
// has its own Idempotency-Key, and the send time of each accepted notification is kept so the
// inbox's arrival time gives trigger -> SMTP-accepted latency.
import autocannon from 'autocannon';
import { percentiles, round } from './stats.js';
import { userIdFor } from './stack.js';

export interface LoadTarget {
  apiUrl: string;
  apiKey: string;
  users: number;
  runId: string;
}

export interface LoadResult {
  requests: number;
  accepted: number;
  errors: number;
  durationS: number;
  reqPerS: number;
  latencyMs: { p50: number | null; p99: number | null };
  /** notification id -> epoch ms the trigger request was sent */
  sentAt: Map<string, number>;
}

/** What each connection's context carries from a request to its response. */
interface Sent {
  t0: number;
}

const data = { amount: 42.5, currency: 'EUR', merchant: 'Boulangerie Paul', accountLast4: '1234' };

export async function triggerLoad(t: LoadTarget, opts: { amount?: number; durationS?: number; overallRate?: number; connections: number }): Promise<LoadResult> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let seq = 0;
  let accepted = 0;
  const started = Date.now();
  const result = await autocannon({
    url: `${t.apiUrl}/v1/notifications`,
    connections: opts.connections,
    pipelining: 1,
    amount: opts.amount,
    duration: opts.durationS ?? 600,
    overallRate: opts.overallRate,
    timeout: 30,
    headers: { authorization: `Bearer ${t.apiKey}`, 'content-type': 'application/json' },
    requests: [
      {
        method: 'POST',
        // Runs right before each request on its connection (pipelining 1): the context carries its send time.
        setupRequest: (req, context: object) => {
          const i = seq++;
          (context as Sent).t0 = Date.now();
          return {
            ...req,
            headers: { ...req.headers, 'idempotency-key': `${t.runId}-${i}` },
            body: JSON.stringify({ userId: userIdFor(i, t.users), type: 'account.transaction', data }),
          };
        },
        onResponse: (status, body, context: object) => {
          const t0 = (context as Sent).t0;
          latencies.push(Date.now() - t0);
          if (status !== 202) return;
          accepted++;
          sentAt.set((JSON.parse(body) as { id: string }).id, t0);
        },
      },
    ],
  });
  const durationS = (Date.now() - started) / 1000;
  const p = percentiles(latencies, [50, 99]);
  return {
    requests: latencies.length,
    accepted,
    errors: result.errors + result.timeouts + result.non2xx,
    durationS: round(durationS, 2),
    reqPerS: round(latencies.length / durationS),
    latencyMs: { p50: p.p50 ?? null, p99: p.p99 ?? null },
    sentAt,
  };
}
