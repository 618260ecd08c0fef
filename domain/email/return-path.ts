import { timingSafeEqual } from 'node:crypto';
import type { SecretBox } from '../../config/secrets.js';

// VERP return path: bounces+<attempt id, 32 hex>.<signature, 16 hex>@<tenant domain>.
// Lower-case hex survives MTAs that fold the local part's case; 57 characters fit the 64 allowed.
const pattern = /^bounces\+([0-9a-f]{32})\.([0-9a-f]{16})@(.+)$/i;

// The tag is the MAC's first 8 bytes; one made under any key of the ring (or before it) is taken.
const tagOf = (mac: string) => Buffer.from(mac, 'base64url').toString('hex').slice(0, 16);
const tag = (secrets: SecretBox, attemptHex: string) => tagOf(secrets.sign('return-path', `return-path:${attemptHex}`));

/** The envelope sender for one delivery attempt: bounces come back to it and name the attempt. */
export function returnPathFor(secrets: SecretBox, attemptId: string, domain: string): string {
  const hex = attemptId.replace(/-/g, '').toLowerCase();
  return `bounces+${hex}.${tag(secrets, hex)}@${domain}`;
}

/** The attempt id a return path names, or null when it is not ours or its signature is forged. */
export function attemptFromReturnPath(secrets: SecretBox, address: string): string | null {
  const m = pattern.exec(address.trim());
  if (!m) return null;
  const hex = m[1]!.toLowerCase();
  const given = Buffer.from(m[2]!.toLowerCase());
  const known = secrets.signatures('return-path', `return-path:${hex}`).map((mac) => Buffer.from(tagOf(mac)));
  if (!known.some((expected) => expected.length === given.length && timingSafeEqual(expected, given))) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
