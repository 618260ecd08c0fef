import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { categories, consentRecords, preferences, unsubscribeTokens, type ConsentSource } from '../../db/schema.js';
import { appendAudit } from '../audit/append.js';

type Tx = Pick<Db, 'insert' | 'select' | 'update'>;

/** One preference change as the person made it, with where and under which text. */
export interface PreferenceChange {
  tenantId: string;
  /** The user's internal id (users.id). */
  userId: string;
  /** The app's id of the user, for the audit trail. */
  externalId: string;
  /** Channels per category key; [] withdraws (and revokes the consent of an opt-in category). */
  categories: Record<string, ('email' | 'push')[]>;
  source: ConsentSource;
  /** Who made it: "user", "app", "link", a support agent's id... never an address. */
  actor: string;
  /** Version of the consent or preference text shown, when the caller knows it. */
  textVersion?: string | null;
  /** Audit step; preferences.updated unless the caller names it (preferences.unsubscribed). */
  auditStep?: string;
}

/** What is wrong with a change against the tenant's categories (unknown category, mandatory left empty). */
export async function preferenceChangeErrors(db: Pick<Db, 'select'>, tenantId: string, chosen: PreferenceChange['categories']) {
  const cats = await db.select().from(categories).where(eq(categories.tenantId, tenantId));
  const errors: { path: string; message: string }[] = [];
  for (const [key, channels] of Object.entries(chosen)) {
    const cat = cats.find((x) => x.key === key);
    if (!cat) errors.push({ path: `categories.${key}`, message: `unknown category; known: ${cats.map((x) => x.key).join(', ')}` });
    else if (cat.mandatory && channels.length === 0)
      errors.push({ path: `categories.${key}`, message: `${key} alerts are mandatory: choose at least one channel` });
  }
  return errors;
}

/**
 * Records a preference change in the consent ledger (append-only) and applies it to the current
 * preferences, its projection, in the caller's transaction. For a category that needs consent
 * (marketing), choosing a channel is the opt-in and choosing none the opt-out. The caller has
 * checked the change with preferenceChangeErrors.
 */
export async function recordPreferenceChange(tx: Tx, change: PreferenceChange): Promise<void> {
  const entries = Object.entries(change.categories);
  if (entries.length === 0) return;
  const cats = await tx
    .select({ key: categories.key, requiresOptIn: categories.requiresOptIn })
    .from(categories)
    .where(eq(categories.tenantId, change.tenantId));
  const optIn = new Set(cats.filter((c) => c.requiresOptIn).map((c) => c.key));
  await tx.insert(consentRecords).values(
    entries.map(([key, channels]) => ({
      tenantId: change.tenantId,
      userId: change.userId,
      categoryKey: key,
      channels,
      action: optIn.has(key) ? (channels.length > 0 ? ('opt_in' as const) : ('opt_out' as const)) : ('preference' as const),
      source: change.source,
      actor: change.actor,
      textVersion: change.textVersion ?? null,
    })),
  );
  for (const [key, channels] of entries) {
    // Subscribing again to a category's e-mail (after an unsubscribe, by link or otherwise) voids
    // the unsubscribe links still out there for it: an old mail must not undo the new choice.
    if (channels.includes('email'))
      await tx
        .update(unsubscribeTokens)
        .set({ revokedAt: new Date() })
        .where(
          and(
            eq(unsubscribeTokens.userId, change.userId),
            eq(unsubscribeTokens.categoryKey, key),
            isNull(unsubscribeTokens.revokedAt),
            sql`exists (select 1 from ${preferences} where ${preferences.userId} = ${change.userId} and ${preferences.categoryKey} = ${key} and not ('email' = any(${preferences.channels})))`,
          ),
        );
    const consented = optIn.has(key) && channels.length > 0;
    await tx
      .insert(preferences)
      .values({ userId: change.userId, categoryKey: key, channels, optedInAt: consented ? new Date() : null })
      .onConflictDoUpdate({
        target: [preferences.userId, preferences.categoryKey],
        // The first opt-in time stays while consent lasts; an opt-out clears it.
        set: { channels, optedInAt: consented ? sql`coalesce(${preferences.optedInAt}, now())` : null, updatedAt: new Date() },
      });
  }
  await appendAudit(tx, {
    tenantId: change.tenantId,
    step: change.auditStep ?? 'preferences.updated',
    detail: {
      userId: change.externalId,
      categories: change.categories,
      source: change.source,
      actor: change.actor,
      textVersion: change.textVersion ?? null,
    },
  });
}

/** The user's consent history, oldest first. */
export async function consentHistory(db: Pick<Db, 'select'>, tenantId: string, userId: string) {
  const rows = await db
    .select()
    .from(consentRecords)
    .where(and(eq(consentRecords.tenantId, tenantId), eq(consentRecords.userId, userId)))
    .orderBy(asc(consentRecords.id));
  return rows.map((r) => ({
    category: r.categoryKey,
    channels: r.channels,
    action: r.action,
    source: r.source,
    actor: r.actor,
    textVersion: r.textVersion,
    at: r.recordedAt.toISOString(),
  }));
}
