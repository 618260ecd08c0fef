import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { categories, preferences } from '../../db/schema.js';

// "Each time" or "daily digest", per category (preferences.frequency): read by the accept path
// (domain/digests/items.ts digestFor). Mandatory categories always go at once.

export type Frequency = 'each' | 'digest';

/** What is wrong with a frequency change: unknown or mandatory categories, each named. */
export async function frequencyErrors(
  db: Pick<Db, 'select'>,
  tenantId: string,
  chosen: Record<string, Frequency>,
): Promise<{ path: string; message: string }[]> {
  const keys = Object.keys(chosen);
  if (!keys.length) return [];
  const rows = await db
    .select({ key: categories.key, mandatory: categories.mandatory })
    .from(categories)
    .where(and(eq(categories.tenantId, tenantId), inArray(categories.key, keys)));
  return keys.flatMap((key) => {
    const row = rows.find((r) => r.key === key);
    if (!row) return [{ path: `body.frequency.${key}`, message: 'unknown category' }];
    if (row.mandatory && chosen[key] === 'digest') return [{ path: `body.frequency.${key}`, message: 'a mandatory category always goes at once' }];
    return [];
  });
}

/** Saves the choices; a category without a preference row gets one with its default channels. */
export async function saveFrequency(db: Pick<Db, 'insert'>, tenantId: string, userId: string, chosen: Record<string, Frequency>): Promise<void> {
  for (const [categoryKey, frequency] of Object.entries(chosen)) {
    await db
      .insert(preferences)
      .values({
        userId,
        categoryKey,
        frequency,
        channels: sql`(select default_channels from categories where tenant_id = ${tenantId} and key = ${categoryKey})`,
      })
      .onConflictDoUpdate({ target: [preferences.userId, preferences.categoryKey], set: { frequency, updatedAt: new Date() } });
  }
}
