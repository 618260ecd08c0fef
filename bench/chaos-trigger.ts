// A client's trigger through an outage: the same Idempotency-Key again until the API accepts it.
// 5xx (500, 503 with Retry-After), 429 and connection errors mean "later"; any other answer is a bug.

export interface TriggerStats {
  retries: number;
  /** Retries by cause: HTTP status or "connection". */
  byCause: Record<string, number>;
}

type Call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Response>;

export async function triggerUntilAccepted(call: Call, body: unknown, key: string, stats: TriggerStats, giveUpAfterMs = 600_000): Promise<string> {
  const started = Date.now();
  for (;;) {
    let wait = 1_000;
    let cause: string;
    try {
      const res = await call('POST', '/v1/notifications', body, { 'idempotency-key': key });
      if (res.status === 200 || res.status === 201 || res.status === 202) return ((await res.json()) as { id: string }).id;
      const text = await res.text();
      if (res.status < 500 && res.status !== 429) throw new Error(`trigger ${key} refused: ${res.status} ${text}`);
      cause = String(res.status);
      const after = Number(res.headers.get('retry-after'));
      if (after > 0) wait = Math.min(after * 1000, 10_000);
    } catch (err) {
      if (err instanceof Error && err.message.startsWith(`trigger ${key} refused`)) throw err;
      cause = 'connection';
    }
    stats.retries++;
    stats.byCause[cause] = (stats.byCause[cause] ?? 0) + 1;
    if (Date.now() - started > giveUpAfterMs) throw new Error(`trigger ${key} not accepted within ${giveUpAfterMs / 1000} s (last: ${cause})`);
    await new Promise((r) => setTimeout(r, wait));
  }
}
