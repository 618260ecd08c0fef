import { and, eq, inArray } from 'drizzle-orm';
import type { SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { suppressions } from '../../db/schema.js';
import { normaliseAddress } from '../feedback/suppression.js';

/**
 * After an erasure a suppressed address is kept only as a keyed hash (HMAC under SECRET_KEY, per
 * tenant) in the suppressions table, so nobody can read it back, yet the address is recognised
 * when it is stored again: the clear suppression is then restored and the send path's check
 * (a join on the clear address) refuses it as before.
 */
export function suppressionHash(secrets: SecretBox, tenantId: string, email: string): string {
  return `hmac:${secrets.sign('suppression-hash', hashInput(tenantId, email))}`;
}

/** The hashes every key of the ring gives: an erasure under an older key is still recognised. */
const suppressionHashes = (secrets: SecretBox, tenantId: string, email: string) =>
  secrets.signatures('suppression-hash', hashInput(tenantId, email)).map((h) => `hmac:${h}`);

const hashInput = (tenantId: string, email: string) => `suppression|${tenantId}|${normaliseAddress(email)}`;

/** Restores the clear suppression of an address that was suppressed before an erasure; true when it did. */
export async function restoreErasedSuppression(
  tx: Pick<Db, 'select' | 'insert'>,
  secrets: SecretBox,
  tenantId: string,
  email: string,
): Promise<boolean> {
  const [hashed] = await tx
    .select()
    .from(suppressions)
    .where(and(eq(suppressions.tenantId, tenantId), inArray(suppressions.email, suppressionHashes(secrets, tenantId, email))));
  if (!hashed) return false;
  const rows = await tx
    .insert(suppressions)
    .values({
      tenantId,
      email: normaliseAddress(email),
      reason: hashed.reason,
      source: hashed.source,
      detail: 'restored: suppressed before an erasure',
    })
    .onConflictDoNothing()
    .returning({ email: suppressions.email });
  return rows.length > 0;
}
