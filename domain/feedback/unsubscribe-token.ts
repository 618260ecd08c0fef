import { createHash, randomBytes } from 'node:crypto';
import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import type { SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { unsubscribeTokens } from '../../db/schema.js';

// One-click unsubscribe links (RFC 8058). The token is 32 opaque bytes: nothing in it names the
// tenant, the user or the category; Postgres keeps its hash with what it unsubscribes. Each
// notification's token is derived from its id with the engine key, so the footer (rendered once)
// and the List-Unsubscribe header of every send attempt carry the same link without storing the
// token itself or passing it through the workflow.

export interface UnsubscribeClaim {
  tenantId: string;
  /** Internal user id (users.id), not the app's external id. */
  userId: string;
  category: string;
}

/** Long enough for a mail read weeks later; short enough that old links stop working. */
export const unsubscribeTokenTtlSeconds = 60 * 24 * 3600;

export const SHAPE = /^[A-Za-z0-9_-]{43}$/;

const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/** What Postgres keeps of a token (and what a link derived from it names): its SHA-256. */
export const unsubscribeTokenHash = hashOf;

/** The token of a notification's links: a keyed hash of its id, so retries and re-renders agree. */
export function notificationUnsubscribeToken(secrets: SecretBox, notificationId: string): string {
  return secrets.sign('unsubscribe-link', `unsubscribe-link:${notificationId}`);
}

/** Makes a token usable (idempotent: a retry keeps the first row, revoked or not). */
export async function storeUnsubscribeToken(db: Pick<Db, 'insert'>, token: string, claim: UnsubscribeClaim, nowMs = Date.now()): Promise<void> {
  await db
    .insert(unsubscribeTokens)
    .values({
      tokenHash: hashOf(token),
      tenantId: claim.tenantId,
      userId: claim.userId,
      categoryKey: claim.category,
      expiresAt: new Date(nowMs + unsubscribeTokenTtlSeconds * 1000),
    })
    .onConflictDoNothing();
}

/** A fresh random token for a link not tied to one notification. */
export async function issueUnsubscribeToken(db: Pick<Db, 'insert'>, claim: UnsubscribeClaim): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  await storeUnsubscribeToken(db, token, claim);
  return token;
}

export type TokenCheck = { ok: true; claim: UnsubscribeClaim } | { ok: false; reason: 'malformed' | 'unknown' | 'revoked' | 'expired' };

/** What a token unsubscribes, if it still may. With `consume`, it is used up in the same statement. */
export async function checkUnsubscribeToken(db: Pick<Db, 'select' | 'update'>, token: string, consume = false): Promise<TokenCheck> {
  if (!SHAPE.test(token)) return { ok: false, reason: 'malformed' };
  const hash = hashOf(token);
  if (consume) {
    // Atomic: two POSTs of the same link cannot both unsubscribe.
    const [used] = await db
      .update(unsubscribeTokens)
      .set({ revokedAt: new Date() })
      .where(and(eq(unsubscribeTokens.tokenHash, hash), isNull(unsubscribeTokens.revokedAt), gt(unsubscribeTokens.expiresAt, sql`now()`)))
      .returning();
    if (used) return { ok: true, claim: { tenantId: used.tenantId, userId: used.userId, category: used.categoryKey } };
  }
  const check = await checkUnsubscribeHash(db, hash);
  return consume && check.ok ? { ok: false, reason: 'revoked' } : check;
}

/** Whether the token with this hash may still be used (not used, revoked, expired or erased), and what it is for. */
export async function checkUnsubscribeHash(db: Pick<Db, 'select'>, hash: string): Promise<TokenCheck> {
  const [row] = await db.select().from(unsubscribeTokens).where(eq(unsubscribeTokens.tokenHash, hash));
  if (!row) return { ok: false, reason: 'unknown' };
  if (row.revokedAt) return { ok: false, reason: 'revoked' };
  if (row.expiresAt.getTime() <= Date.now()) return { ok: false, reason: 'expired' };
  return { ok: true, claim: { tenantId: row.tenantId, userId: row.userId, category: row.categoryKey } };
}

/** Revokes a user's outstanding links, all of them or one category's. Returns how many. */
export async function revokeUnsubscribeTokens(db: Pick<Db, 'update'>, userId: string, category?: string): Promise<number> {
  const rows = await db
    .update(unsubscribeTokens)
    .set({ revokedAt: new Date() })
    .where(
      and(
        eq(unsubscribeTokens.userId, userId),
        isNull(unsubscribeTokens.revokedAt),
        category ? eq(unsubscribeTokens.categoryKey, category) : undefined,
      ),
    )
    .returning({ hash: unsubscribeTokens.tokenHash });
  return rows.length;
}

/** The https link put in List-Unsubscribe and in the footer of non-mandatory categories. */
export function unsubscribeLink(publicUrl: string, token: string): string {
  return `${publicUrl.replace(/\/$/, '')}/v1/unsubscribe/${token}`;
}
