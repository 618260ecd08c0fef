import { asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { seedTenantDefaults } from '../../db/provision.js';
import { pools, sendingDomains, tenants } from '../../db/schema.js';
import { appendAudit } from '../audit/append.js';
import { raiseAlarm, resolveAlarm } from '../monitor/alarms.js';
import { createApiKey, notifyKeyChange, type NewApiKey } from './api-keys.js';

export type TenantStatus = 'active' | 'suspended' | 'held';

export interface TenantView {
  id: string;
  name: string;
  status: TenantStatus;
  statusReason: string | null;
  sandbox: boolean;
  poolId: string | null;
  keyCount: number;
  domains: { domain: string; status: string; dkimVerified: boolean; lastCheckedAt: string | null }[];
  createdAt: string;
}

export class TenantError extends Error {
  constructor(
    readonly kind: 'not-found' | 'conflict' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/**
 * A new tenant on a pool, with the defaults every tenant starts with and its first API key
 * (both scopes), all in one transaction. The clear key is in the result and nowhere else.
 */
export async function createTenant(
  db: Db,
  spec: { id: string; name: string; poolId: string; sandbox?: boolean; by: string },
): Promise<{ tenant: TenantView; apiKey: NewApiKey }> {
  const [pool] = await db.select({ id: pools.id }).from(pools).where(eq(pools.id, spec.poolId));
  if (!pool) throw new TenantError('invalid', `Pool ${spec.poolId} does not exist; create it with PUT /v1/admin/pools/${spec.poolId}`);
  const apiKey = await db.transaction(async (tx) => {
    const inserted = await tx
      .insert(tenants)
      .values({ id: spec.id, name: spec.name, poolId: spec.poolId, sandbox: spec.sandbox ?? false })
      .onConflictDoNothing()
      .returning({ id: tenants.id });
    if (inserted.length === 0) throw new TenantError('conflict', `Tenant ${spec.id} already exists`);
    await seedTenantDefaults(tx, spec.id);
    await appendAudit(tx, {
      tenantId: spec.id,
      step: 'tenant.created',
      detail: { name: spec.name, poolId: spec.poolId, sandbox: spec.sandbox ?? false, by: spec.by },
    });
    return createApiKey(tx, spec.id, { name: 'first key', scopes: ['send', 'manage'], by: spec.by });
  });
  return { tenant: (await getTenant(db, spec.id))!, apiKey };
}

export async function listTenants(db: Db, id?: string): Promise<TenantView[]> {
  const rows = await db
    .select({
      t: tenants,
      keyCount: sql<number>`(select count(*)::int from api_keys k where k.tenant_id = tenants.id and k.revoked_at is null)`,
    })
    .from(tenants)
    .where(id ? eq(tenants.id, id) : undefined)
    .orderBy(asc(tenants.id));
  const domains = await db
    .select({
      tenantId: sendingDomains.tenantId,
      domain: sendingDomains.domain,
      status: sendingDomains.status,
      dkimVerifiedAt: sendingDomains.dkimVerifiedAt,
      lastCheckedAt: sendingDomains.lastCheckedAt,
    })
    .from(sendingDomains)
    .where(id ? eq(sendingDomains.tenantId, id) : undefined)
    .orderBy(asc(sendingDomains.domain));
  return rows.map(({ t, keyCount }) => ({
    id: t.id,
    name: t.name,
    status: t.status,
    statusReason: t.statusReason,
    sandbox: t.sandbox,
    poolId: t.poolId,
    keyCount,
    domains: domains
      .filter((d) => d.tenantId === t.id)
      .map((d) => ({
        domain: d.domain,
        status: d.status,
        dkimVerified: d.dkimVerifiedAt !== null,
        lastCheckedAt: d.lastCheckedAt?.toISOString() ?? null,
      })),
    createdAt: t.createdAt.toISOString(),
  }));
}

export async function getTenant(db: Db, id: string): Promise<TenantView | undefined> {
  return (await listTenants(db, id))[0];
}

/**
 * Suspends (operator), holds (spam signals) or reinstates a tenant. Every API process drops its
 * cached keys at once; running notifications check the status before each send.
 */
export async function setTenantStatus(db: Db, id: string, change: { status: TenantStatus; reason: string | null; by: string }): Promise<TenantView> {
  await db.transaction(async (tx) => {
    const [before] = await tx.select({ status: tenants.status }).from(tenants).where(eq(tenants.id, id)).for('update');
    if (!before) throw new TenantError('not-found', `No tenant ${id}`);
    await tx.update(tenants).set({ status: change.status, statusReason: change.reason, statusChangedAt: new Date() }).where(eq(tenants.id, id));
    const step = change.status === 'active' ? 'tenant.reinstated' : change.status === 'held' ? 'tenant.held' : 'tenant.suspended';
    await appendAudit(tx, { tenantId: id, step, detail: { from: before.status, reason: change.reason, by: change.by } });
    await notifyKeyChange(tx, id);
  });
  if (change.status === 'active') await resolveAlarm(db, 'tenant-held', `tenant:${id}`);
  return (await getTenant(db, id))!;
}

/** Lets a development tenant trigger before its domain's DKIM has verified (or not). */
export async function setTenantSandbox(db: Db, id: string, sandbox: boolean, by: string): Promise<void> {
  await db.transaction(async (tx) => {
    const updated = await tx.update(tenants).set({ sandbox }).where(eq(tenants.id, id)).returning({ id: tenants.id });
    if (updated.length === 0) throw new TenantError('not-found', `No tenant ${id}`);
    await appendAudit(tx, { tenantId: id, step: 'tenant.sandbox', detail: { sandbox, by } });
  });
}

/**
 * Puts an active tenant on hold after spam signals (a dedicated IP blocklisted, the complaint
 * rate at the alarm threshold): its sends wait until an operator reinstates it. A suspended or
 * already held tenant is left as it is. Answers the alarm to tell the operator about, if any.
 */
export async function holdTenant(db: Db, id: string, reason: string): Promise<string | null> {
  const [t] = await db.select({ status: tenants.status }).from(tenants).where(eq(tenants.id, id));
  if (t?.status !== 'active') return null;
  await setTenantStatus(db, id, { status: 'held', reason, by: 'monitor' });
  return raiseAlarm(db, {
    kind: 'tenant-held',
    scope: `tenant:${id}`,
    severity: 'alarm',
    message: `Tenant ${id} is on hold: ${reason}. Its mail waits until an operator reinstates it (POST /v1/admin/tenants/${id}/reinstate)`,
    detail: { tenantId: id, reason },
  });
}
