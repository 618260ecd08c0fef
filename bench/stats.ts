/** Nearest-rank percentile of unsorted samples (copied and sorted once per call). */
export function percentiles(samples: number[], ps: number[]): Record<string, number | null> {
  const sorted = [...samples].sort((a, b) => a - b);
  const out: Record<string, number | null> = {};
  for (const p of ps) {
    out[`p${p}`] = sorted.length ? round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!) : null;
  }
  return out;
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` over 0..n-1 with at most `limit` in flight. */
export async function pool(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}
