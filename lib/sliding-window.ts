/**
 * Events per key in a sliding minute, held in this process (each listener or API process counts
 * its own: a limit per process, which is what a flood against one process needs; no shared store).
 * Quiet keys are forgotten as the map grows, so it holds recent senders only.
 */
export function slidingMinute(limit: number, now: () => number = Date.now) {
  const seen = new Map<string, number[]>();
  const recent = (key: string, t: number) => (seen.get(key) ?? []).filter((at) => t - at < 60_000);
  return {
    /** True when `key` is under the limit. */
    allows(key: string): boolean {
      return recent(key, now()).length < limit;
    },
    /** Counts one event; true when it was within the limit. */
    hit(key: string): boolean {
      const t = now();
      const events = recent(key, t);
      const ok = events.length < limit;
      if (ok) events.push(t);
      seen.set(key, events);
      if (seen.size > 10_000) for (const [k, v] of seen) if (v.every((at) => t - at >= 60_000)) seen.delete(k);
      return ok;
    },
    /** Seconds until `key` may act again. */
    retryAfter(key: string): number {
      const [oldest] = recent(key, now());
      return oldest === undefined ? 0 : Math.max(1, Math.ceil((oldest + 60_000 - now()) / 1000));
    },
  };
}
