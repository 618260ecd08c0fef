import { signatureHeader, signWebhook } from './sign.js';

/** POSTs a signed JSON webhook; true when the receiver acknowledged it (2xx). Network errors count as no. */
export async function postSigned(url: string, secret: string, payload: unknown, timeoutMs = 10_000): Promise<{ ok: boolean; status: number | null; error?: string }> {
  const body = JSON.stringify(payload);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [signatureHeader]: signWebhook(secret, body) },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.arrayBuffer().catch(() => undefined);
    return { ok: res.ok, status: res.status };
  } catch (err) {
    return { ok: false, status: null, error: (err as Error).message };
  }
}
