import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { generateApiKey, hashApiKey } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { apiKeys } from '../../db/schema.js';
import { appendAudit } from '../audit/append.js';

/** send: notifications, users, preferences, suppressions; manage: domains, keys, webhook. */
export const apiKeyScopes = ['send', 'manage'] as const;
export type ApiKeyScope = (typeof apiKeyScopes)[number];

/** Every API process LISTENs here and forgets its cached keys on a message (revocation, suspension). */
export const KEY_CHANGES_CHANNEL = 'notiflow_key_changes';

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface NewApiKey {
  id: string;
  /** The clear key: returned this once, stored only as its SHA-256 hash. */
  key: string;
  prefix: string;
  name: string;
  scopes: ApiKeyScope[];
  createdAt: string;
  expiresAt: string | null;
}

/** Creates a key for a tenant inside the caller's transaction when given one. */
export async function createApiKey(
  db: Db | Tx,
  tenantId: string,
  spec: { name: string; scopes: ApiKeyScope[]; expiresAt?: Date | null; by: string },
): Promise<NewApiKey> {
  const key = generateApiKey('nf_live');
  const prefix = key.slice(0, 16);
  const [row] = await db
    .insert(apiKeys)
    .values({ tenantId, keyHash: hashApiKey(key), prefix, name: spec.name, scopes: [...new Set(spec.scopes)], expiresAt: spec.expiresAt ?? null })
    .returning();
  await appendAudit(db, { tenantId, step: 'api_key.created', detail: { keyId: row!.id, prefix, name: spec.name, scopes: row!.scopes, by: spec.by } });
  return {
    id: row!.id,
    key,
    prefix,
    name: row!.name,
    scopes: row!.scopes as ApiKeyScope[],
    createdAt: row!.createdAt.toISOString(),
    expiresAt: row!.expiresAt?.toISOString() ?? null,
  };
}

export async function listApiKeys(db: Db, tenantId: string) {
  const rows = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)))
    .orderBy(desc(apiKeys.createdAt));
  return rows.map((r) => ({
    id: r.id,
    prefix: r.prefix,
    name: r.name,
    scopes: r.scopes as ApiKeyScope[],
    createdAt: r.createdAt.toISOString(),
    lastUsedAt: r.lastUsedAt?.toISOString() ?? null,
    expiresAt: r.expiresAt?.toISOString() ?? null,
  }));
}

/** Revokes a key and tells every API process at once (NOTIFY is delivered on commit). False: no such key. */
export async function revokeApiKey(db: Db, tenantId: string, keyId: string, by: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.id, keyId), eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id, prefix: apiKeys.prefix });
    if (!row) return false;
    await appendAudit(tx, { tenantId, step: 'api_key.revoked', detail: { keyId, prefix: row.prefix, by } });
    await notifyKeyChange(tx, tenantId);
    return true;
  });
}

/** Tells every API process to forget its cached keys (sent when the transaction commits). */
export async function notifyKeyChange(db: Db | Tx, tenantId: string): Promise<void> {
  await db.execute(sql`select pg_notify(${KEY_CHANGES_CHANNEL}, ${tenantId})`);
}

/** Records that a key was used; the API calls it at most once a minute per key. */
export async function touchApiKey(db: Db, keyId: string): Promise<void> {
  await db.update(apiKeys).set({ lastUsedAt: new Date() }).where(eq(apiKeys.id, keyId));
}

/** What a valid key stands for, as the API caches it per process. */
export interface KeyGrant {
  keyId: string;
  tenantId: string;
  scopes: ApiKeyScope[];
  expiresAt: number | null;
  tenantStatus: 'active' | 'suspended' | 'held';
  tenantStatusReason: string | null;
}
