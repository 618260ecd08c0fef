import { createHmac, timingSafeEqual } from 'node:crypto';
import type { SecretBox } from '../../config/secrets.js';

// Webhook signatures, Stripe-style: `Notiflow-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`.
// The timestamp inside the MAC lets receivers refuse replays.

export const signatureHeader = 'Notiflow-Signature';

export function signWebhook(secret: string, body: string, nowMs = Date.now()): string {
  const t = Math.floor(nowMs / 1000);
  const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${mac}`;
}

export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  toleranceSeconds = 300,
  nowMs = Date.now(),
): boolean {
  if (!header) return false;
  const parts = Object.fromEntries(header.split(',').map((p) => p.trim().split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || !parts.v1 || Math.abs(nowMs / 1000 - t) > toleranceSeconds) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`).digest('hex'));
  const given = Buffer.from(parts.v1);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * The status-webhook secret of a tenant that never had one issued: derived, as before secrets were
 * random, from the original key (k0) and its pre-ring derivation, so it stays what the tenant holds.
 */
export function tenantWebhookSecret(secrets: SecretBox, tenantId: string): string {
  const mac = secrets.legacySign(`status-webhook:${tenantId}`);
  if (mac === undefined) throw new Error(`Tenant ${tenantId} has no issued webhook secret, and its derived one needs the original key (SECRET_KEY)`);
  return `whsec_${mac}`;
}
