import { sql } from 'drizzle-orm';
import type { Db } from './client.js';
import { categories, layoutVersions, notificationTypes, templateVersions } from './schema.js';
import { defaultLayout, defaultType, defaultTypes } from '../seed/defaults.js';

/** The categories every tenant starts with; security is mandatory, marketing needs a recorded opt-in. */
export const defaultCategories = [
  {
    key: 'security',
    defaultChannels: ['email', 'push'],
    mandatory: true,
    requiresOptIn: false,
    allowFallback: true,
    label: { en: 'Security', fr: 'Sécurité', de: 'Sicherheit', nl: 'Beveiliging' },
  },
  {
    key: 'transactions',
    defaultChannels: ['email'],
    mandatory: false,
    requiresOptIn: false,
    allowFallback: true,
    label: { en: 'Transactions', fr: 'Opérations', de: 'Umsätze', nl: 'Transacties' },
  },
  {
    key: 'balance',
    defaultChannels: ['email'],
    mandatory: false,
    requiresOptIn: false,
    allowFallback: true,
    label: { en: 'Balance', fr: 'Solde', de: 'Kontostand', nl: 'Saldo' },
  },
  {
    key: 'marketing',
    defaultChannels: ['email'],
    mandatory: false,
    requiresOptIn: true,
    allowFallback: false,
    label: { en: 'News and offers', fr: 'Actualités et offres', de: 'Neuigkeiten und Angebote', nl: 'Nieuws en aanbiedingen' },
  },
] as const;

type Writer = Pick<Db, 'insert' | 'execute'>;

/**
 * What every new tenant starts with, as its own rows it may change: the four categories, the
 * built-in layout (version 1, published) and the four demo types, each with version 1 published.
 * Idempotent: rows the tenant already has (changed or not) are left alone. Call it inside the
 * transaction that creates the tenant.
 */
export async function seedTenantDefaults(db: Writer, tenantId: string): Promise<void> {
  const now = new Date();
  await db
    .insert(categories)
    .values(defaultCategories.map((c) => ({ ...c, defaultChannels: [...c.defaultChannels], label: { ...c.label }, tenantId })))
    .onConflictDoNothing();
  await db.insert(layoutVersions).values({ tenantId, version: 1, content: defaultLayout(), publishedAt: now }).onConflictDoNothing();
  const types = defaultTypes.map((key) => ({ key, ...defaultType(key) }));
  await db
    .insert(notificationTypes)
    .values(types.map((t) => ({ tenantId, key: t.key, categoryKey: t.category, variables: t.variables, publishedVersion: 1 })))
    .onConflictDoNothing();
  await db
    .insert(templateVersions)
    .values(
      types.map((t) => ({
        tenantId,
        typeKey: t.key,
        version: 1,
        content: t.content,
        variables: t.variables,
        layoutVersion: 1,
        checks: { seeded: true },
        publishedAt: now,
      })),
    )
    .onConflictDoNothing();
  // A tenant created before versions existed has its types without a published one: give them v1.
  await db.execute(
    sql`update notification_types set published_version = 1, variables = case when variables = '{}'::jsonb then (select v.variables from template_versions v where v.tenant_id = notification_types.tenant_id and v.type_key = notification_types.key and v.version = 1) else variables end where tenant_id = ${tenantId} and published_version is null and exists (select 1 from template_versions v where v.tenant_id = ${tenantId} and v.type_key = notification_types.key and v.version = 1)`,
  );
}
