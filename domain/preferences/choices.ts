import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { categories, preferences, tenants, users } from '../../db/schema.js';
import { createHash } from 'node:crypto';
import { recordPreferenceChange } from '../privacy/consent.js';

// A user's channel choices per category, as the preference centre shows and saves them.

export interface CategoryChoice {
  key: string;
  channels: string[];
  /** Channels the category may use at all (its defaults plus what the user chose). */
  available: string[];
  mandatory: boolean;
  requiresOptIn: boolean;
  optedInAt: Date | null;
  /** "each time" or "daily digest" (null: as the type declares). */
  frequency: 'each' | 'digest' | null;
}

export interface UserChoices {
  tenantName: string;
  externalId: string;
  locale: string;
  categories: CategoryChoice[];
}

const allChannels = ['email', 'push'];

export async function loadChoices(db: Db, tenantId: string, userId: string): Promise<UserChoices | undefined> {
  const [user] = await db
    .select({ externalId: users.externalId, locale: users.locale, tenantName: tenants.name })
    .from(users)
    .innerJoin(tenants, eq(tenants.id, users.tenantId))
    .where(and(eq(users.id, userId), eq(users.tenantId, tenantId)));
  if (!user) return undefined;
  const rows = await db
    .select({
      key: categories.key,
      defaults: categories.defaultChannels,
      mandatory: categories.mandatory,
      requiresOptIn: categories.requiresOptIn,
      chosen: preferences.channels,
      optedInAt: preferences.optedInAt,
      frequency: preferences.frequency,
    })
    .from(categories)
    .leftJoin(preferences, and(eq(preferences.categoryKey, categories.key), eq(preferences.userId, userId)))
    .where(eq(categories.tenantId, tenantId))
    .orderBy(categories.key);
  return {
    ...user,
    categories: rows.map((r) => ({
      key: r.key,
      // An opt-in category without a recorded opt-in sends nothing, whatever its defaults say.
      channels: r.requiresOptIn && !r.optedInAt ? [] : (r.chosen ?? r.defaults),
      available: allChannels,
      mandatory: r.mandatory,
      requiresOptIn: r.requiresOptIn,
      optedInAt: r.optedInAt,
      frequency: r.frequency,
    })),
  };
}

export type ChoiceError = { category: string; problem: 'consent-needed' | 'unknown-channel' | 'opt-out-only' };

/**
 * Saves the channels chosen for each non-mandatory category (mandatory ones are not the user's to
 * change here). An opt-in category takes channels only with consent; its consent is recorded when
 * given and withdrawn with its last channel. With `optOutOnly` (a link from an unsubscribe page,
 * which others may hold) channels can only be removed and consent only withdrawn; only what
 * changed is recorded, as the link's doing.
 */
export async function saveChoices(
  db: Db,
  input: {
    tenantId: string;
    userId: string;
    chosen: Record<string, string[]>;
    consent: Set<string>;
    consentText: (category: string) => string;
    optOutOnly?: boolean;
  },
): Promise<ChoiceError[] | undefined> {
  const current = await loadChoices(db, input.tenantId, input.userId);
  if (!current) return [];
  const errors: ChoiceError[] = [];
  const writes: { key: string; channels: string[]; optIn: 'given' | 'kept' | 'withdrawn' | 'none' }[] = [];
  for (const cat of current.categories) {
    if (cat.mandatory) continue;
    const channels = (input.chosen[cat.key] ?? []).filter((c, i, all) => all.indexOf(c) === i);
    if (channels.some((c) => !cat.available.includes(c))) errors.push({ category: cat.key, problem: 'unknown-channel' });
    if (input.optOutOnly) {
      const consenting = !cat.requiresOptIn || input.consent.has(cat.key);
      if (channels.some((c) => !cat.channels.includes(c)) || (cat.requiresOptIn && consenting && !cat.optedInAt))
        errors.push({ category: cat.key, problem: 'opt-out-only' });
      // Unticking consent withdraws it with every channel of the category.
      const kept = consenting ? channels : [];
      if (kept.length !== cat.channels.length)
        writes.push({ key: cat.key, channels: kept, optIn: !cat.requiresOptIn ? 'none' : kept.length ? 'kept' : 'withdrawn' });
      continue;
    }
    if (!cat.requiresOptIn) {
      writes.push({ key: cat.key, channels, optIn: 'none' });
      continue;
    }
    const consenting = input.consent.has(cat.key);
    if (channels.length > 0 && !consenting) errors.push({ category: cat.key, problem: 'consent-needed' });
    writes.push({
      key: cat.key,
      channels: consenting ? channels : [],
      optIn: !consenting || channels.length === 0 ? 'withdrawn' : cat.optedInAt ? 'kept' : 'given',
    });
  }
  if (errors.length) return errors;
  if (writes.length === 0) return undefined;
  // The consent ledger records the change (opt-in or opt-out of a consent category with the text
  // shown) and projects it onto the current preferences, as the API and the unsubscribe link do.
  const consentGiven = writes.filter((w) => w.optIn === 'given').map((w) => w.key);
  await db.transaction((tx) =>
    recordPreferenceChange(tx, {
      tenantId: input.tenantId,
      userId: input.userId,
      externalId: current.externalId,
      categories: Object.fromEntries(writes.map((w) => [w.key, w.channels as ('email' | 'push')[]])),
      source: input.optOutOnly ? 'unsubscribe-link' : 'preference-page',
      actor: input.optOutOnly ? 'link' : 'user',
      textVersion: consentGiven.length ? consentGiven.map((k) => `${k}:${textVersionOf(input.consentText(k))}`).join(',') : null,
    }),
  );
  return undefined;
}

/** A short digest of the consent text as shown, so the ledger says which wording the person saw. */
function textVersionOf(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}
