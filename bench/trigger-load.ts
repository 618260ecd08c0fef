// Load on POST /v1/notifications over real HTTP: a burst of N with autocannon (as fast as the API
// accepts with bounded concurrency), or a fixed rate for a bounded time, evenly paced. Every request
// has its own Idempotency-Key, and the send time of each accepted notification is kept so the
// inbox's arrival time gives trigger -> SMTP-accepted latency.
import { Agent, request } from 'node:http';
import autocannon from 'autocannon';
import { percentiles, round, sleep } from './stats.js';
import { userIdFor } from './stack.js';

export interface LoadTarget {
  apiUrl: string;
  /** Several API processes: connections (bursts) or requests (fixed rate) are spread over them. */
  apiUrls?: string[];
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

const bodyFor = (t: LoadTarget, i: number) => JSON.stringify({ userId: userIdFor(i, t.users), type: 'account.transaction', data });

/** A burst: `amount` requests (or for `durationS`) as fast as `connections` keep-alive connections allow. */
export async function triggerLoad(t: LoadTarget, opts: { amount?: number; durationS?: number; connections: number }): Promise<LoadResult> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let seq = 0;
  let accepted = 0;
  const started = Date.now();
  const urls = (t.apiUrls?.length ? t.apiUrls : [t.apiUrl]).map((u) => `${u}/v1/notifications`);
  const run = autocannon({
    // autocannon spreads connections over several URLs (its types declare only one).
    url: (urls.length > 1 ? urls : urls[0]!) as string,
    connections: opts.connections,
    pipelining: 1,
    amount: opts.amount,
    duration: opts.durationS ?? 600,
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
            body: bodyFor(t, i),
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
  // With `amount` set autocannon ignores `duration`: the deadline stops it instead (what was sent is kept).
  const timer = opts.durationS ? setTimeout(() => (run as unknown as { stop(): void }).stop(), opts.durationS * 1000) : undefined;
  const result = await run;
  clearTimeout(timer);
  return summary(started, latencies, accepted, result.errors + result.timeouts + result.non2xx, sentAt);
}

/**
 * A fixed rate: request i leaves at start + i / ratePerS whatever the earlier ones are doing (open
 * loop), so arrivals are evenly spaced. (autocannon's overallRate sends each second's quota at the
 * start of the second, a burst the engine then queues.)
 */
export async function triggerPaced(t: LoadTarget, opts: { ratePerS: number; durationS: number }): Promise<LoadResult> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let accepted = 0;
  let errors = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const urls = (t.apiUrls?.length ? t.apiUrls : [t.apiUrl]).map((u) => new URL(`${u}/v1/notifications`));
  const post = (i: number) =>
    new Promise<void>((resolve) => {
      const body = bodyFor(t, i);
      const t0 = Date.now();
      const req = request(
        urls[i % urls.length]!,
        {
          method: 'POST',
          agent,
          headers: {
            authorization: `Bearer ${t.apiKey}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
            'idempotency-key': `${t.runId}-${i}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            latencies.push(Date.now() - t0);
            if (res.statusCode === 202) {
              accepted++;
              sentAt.set((JSON.parse(Buffer.concat(chunks).toString()) as { id: string }).id, t0);
            } else errors++;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      // No answer in 30 s counts as an error, as autocannon's timeout does for bursts.
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.end(body);
    });
  const started = Date.now();
  const total = Math.round(opts.ratePerS * opts.durationS);
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / opts.ratePerS;
    if (due > Date.now()) await sleep(due - Date.now());
    inFlight.push(post(i));
  }
  await Promise.all(inFlight);
  agent.destroy();
  return summary(started, latencies, accepted, errors, sentAt);
}

function summary(started: number, latencies: number[], accepted: number, errors: number, sentAt: Map<string, number>): LoadResult {
  const durationS = (Date.now() - started) / 1000;
  const p = percentiles(latencies, [50, 99]);
  return {
    requests: latencies.length,
    accepted,
    errors,
    durationS: round(durationS, 2),
    reqPerS: round(latencies.length / durationS),
    latencyMs: { p50: p.p50 ?? null, p99: p.p99 ?? null },
    sentAt,
  };
}
