// Trigger -> SMTP-accepted: waits (bounded) until the inbox reported every triggered notification
// and turns send and arrival times into a delivered rate and latency percentiles.
import type { Arrivals } from './stack.js';
import { percentiles, round, sleep } from './stats.js';

export interface DeliveryResult {
  triggered: number;
  delivered: number;
  /** All delivered / (last arrival - first trigger): includes ramp-up and drain. */
  deliveredPerS: number;
  /** Arrivals between the 10th and 90th percentile arrival times: the rate once the pipeline is full. */
  sustainedPerS: number;
  latencyMs: Record<string, number | null>;
  timedOut: boolean;
}

export async function awaitDeliveries(
  sentAt: Map<string, number>,
  arrivals: Arrivals,
  timeoutMs: number,
  progress?: (done: number) => void,
): Promise<DeliveryResult> {
  const deadline = Date.now() + timeoutMs;
  const ids = [...sentAt.keys()];
  let done = 0;
  let lastReport = 0;
  while (Date.now() < deadline) {
    done = ids.reduce((n, id) => n + (arrivals.at.has(id) ? 1 : 0), 0);
    if (done === ids.length) break;
    if (progress && Date.now() - lastReport > 10_000) {
      progress(done);
      lastReport = Date.now();
    }
    await sleep(250);
  }
  return summarise(sentAt, arrivals, done < ids.length);
}

export function summarise(sentAt: Map<string, number>, arrivals: Arrivals, timedOut: boolean): DeliveryResult {
  const latencies: number[] = [];
  const times: number[] = [];
  let first = Infinity;
  for (const [id, t0] of sentAt) {
    first = Math.min(first, t0);
    const at = arrivals.at.get(id);
    if (at === undefined) continue;
    latencies.push(at - t0);
    times.push(at);
  }
  times.sort((a, b) => a - b);
  const last = times.at(-1) ?? first;
  const lo = Math.floor(times.length * 0.1);
  const hi = Math.max(lo, Math.ceil(times.length * 0.9) - 1);
  const middle = times.length >= 20 ? (hi - lo) / Math.max(0.001, (times[hi]! - times[lo]!) / 1000) : 0;
  return {
    triggered: sentAt.size,
    delivered: latencies.length,
    deliveredPerS: round(latencies.length / Math.max(0.001, (last - first) / 1000)),
    sustainedPerS: round(middle),
    latencyMs: percentiles(latencies, [50, 95, 99]),
    timedOut,
  };
}
