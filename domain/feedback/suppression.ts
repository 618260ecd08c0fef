import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { suppressions, type SuppressionReason } from '../../db/schema.js';

type Reader = Pick<Db, 'select'>;
type Writer = Pick<Db, 'insert'>;

/** Addresses compare case-insensitively: stored and looked up lower-cased. */
export const normaliseAddress = (email: string): string => email.trim().toLowerCase();

export async function findSuppression(db: Reader, tenantId: string, email: string) {
  const [row] = await db
    .select({ reason: suppressions.reason, source: suppressions.source, createdAt: suppressions.createdAt })
    .from(suppressions)
    .where(and(eq(suppressions.tenantId, tenantId), eq(suppressions.email, normaliseAddress(email))));
  return row;
}

/** Adds the address unless it is already suppressed (the first reason stays); true when added. */
export async function suppress(
  db: Writer,
  entry: { tenantId: string; email: string; reason: SuppressionReason; source: string; notificationId?: string | null; detail?: string | null },
): Promise<boolean> {
  const rows = await db
    .insert(suppressions)
    .values({ ...entry, email: normaliseAddress(entry.email), notificationId: entry.notificationId ?? null, detail: entry.detail ?? null })
    .onConflictDoNothing()
    .returning({ email: suppressions.email });
  return rows.length > 0;
}

/**
 * Whether a suppression stops mail of a category. A hard bounce (the address does not exist) or an
 * operator's entry stops everything; a complaint or an unsubscribe is the user declining the
 * tenant's service and marketing mail, never a required alert (security, a category marked mandatory).
 */
export function suppressionApplies(reason: SuppressionReason, categoryMandatory: boolean): boolean {
  if (reason === 'hard_bounce' || reason === 'manual') return true;
  return !categoryMandatory;
}
