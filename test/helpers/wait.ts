/** Polls until `check` returns a value (not undefined/false) or the time is up. */
export async function waitUntil<T>(check: () => Promise<T | undefined | false>, timeoutMs = 30_000, label = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
