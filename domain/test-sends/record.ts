// What every test message (a template test or a recipient's confirmation code) passes before it
// is recorded: the tenant not on hold, the address not suppressed, and the tenant's daily cap.
// Sending itself then goes through the same checks again in activities/test-send.ts.
import { and, count, eq, gt, min, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { tenants, testSends } from '../../db/schema.js';
import { findSuppression, suppressionApplies } from '../feedback/suppression.js';
import { conflict, invalid } from '../templates/errors.js';

/** What a tenant may send per 24 hours unless TEST_SENDS_PER_DAY says otherwise. */
export const DEFAULT_TEST_SENDS_PER_DAY = 50;
const DAY_MS = 24 * 3_600_000;

/**
 * Refuses (409/422) a test message the notification path would not send either: a held or
 * suspended tenant, or a suppressed address. A test is never a required alert, so every
 * suppression applies.
 */
export async function checkTestAddress(db: Db, tenantId: string, email: string, path: string): Promise<void> {
  const [t] = await db.select({ status: tenants.status, reason: tenants.statusReason }).from(tenants).where(eq(tenants.id, tenantId));
  if (t && t.status !== 'active')
    throw conflict(
      `This tenant is ${t.status === 'held' ? 'on hold' : t.status} (${t.reason ?? 'no reason given'}); no test message is sent until an operator reinstates it`,
    );
  const suppressed = await findSuppression(db, tenantId, email);
  if (suppressed && suppressionApplies(suppressed.reason, false))
    throw invalid(`The address is suppressed (${suppressed.reason}); no test message is sent to it`, [{ path, message: 'suppressed' }]);
}

export type TestMail = Omit<typeof testSends.$inferInsert, 'id' | 'tenantId' | 'status' | 'response' | 'createdAt'>;

/**
 * Records a test message unless the tenant has sent `perDay` in the last 24 hours; then answers
 * when the oldest of those leaves the window. One tenant's records are counted under a lock, so
 * concurrent requests cannot pass the cap together.
 */
export async function recordTestMail(
  db: Db,
  tenantId: string,
  mail: TestMail,
  perDay: number,
): Promise<{ id: string } | { capped: true; perDay: number; retryAfterMs: number }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`test_sends:${tenantId}`}))`);
    const since = new Date(Date.now() - DAY_MS);
    const [sent] = await tx
      .select({ n: count(), oldest: min(testSends.createdAt) })
      .from(testSends)
      .where(and(eq(testSends.tenantId, tenantId), gt(testSends.createdAt, since)));
    if (sent && sent.n >= perDay) {
      const oldest = sent.oldest ? new Date(sent.oldest).getTime() : Date.now();
      return { capped: true as const, perDay, retryAfterMs: Math.max(1_000, oldest + DAY_MS - Date.now()) };
    }
    const [row] = await tx
      .insert(testSends)
      .values({ ...mail, tenantId })
      .returning({ id: testSends.id });
    return { id: row!.id };
  });
}

/** Takes back a test message whose workflow could not start (it was never sent). */
export async function forgetTestMail(db: Db, tenantId: string, id: string): Promise<void> {
  await db.delete(testSends).where(and(eq(testSends.id, id), eq(testSends.tenantId, tenantId)));
}
