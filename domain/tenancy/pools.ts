import { and, eq, inArray, notInArray } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { sendingIps, pools } from '../../db/schema.js';
import { ipWarmups } from '../../db/schema-pools.js';
import { appendAudit } from '../audit/append.js';

/** Audit rows about shared infrastructure belong to no tenant. */
const OPERATOR_TENANT = '*';

export interface PoolPut {
  name: string;
  kind: 'shared' | 'dedicated';
  relay?: { host: string; port: number } | null;
  ips: { id: string; ip: string; ehloName: string; weight: number }[];
}

/**
 * Creates or replaces a pool. A source new to the engine starts its warm-up ramp; a source left
 * out drains: weight 0, so no new send picks it while sends already on it finish.
 */
export async function putPool(db: Db, id: string, spec: PoolPut, by: string) {
  return db.transaction(async (tx) => {
    const ids = spec.ips.map((s) => s.id);
    if (ids.length) {
      const elsewhere = await tx.select({ id: sendingIps.id, poolId: sendingIps.poolId }).from(sendingIps).where(inArray(sendingIps.id, ids));
      const taken = elsewhere.filter((s) => s.poolId !== id);
      if (taken.length) return { error: `Source ${taken.map((s) => `${s.id} (pool ${s.poolId})`).join(', ')} belongs to another pool` } as const;
    }
    const existing = await tx.select({ id: sendingIps.id }).from(sendingIps).where(eq(sendingIps.poolId, id));
    const created = (await tx.select({ id: pools.id }).from(pools).where(eq(pools.id, id))).length === 0;
    const pool = { id, name: spec.name, kind: spec.kind, relayHost: spec.relay?.host ?? null, relayPort: spec.relay?.port ?? null };
    await tx.insert(pools).values(pool).onConflictDoUpdate({ target: pools.id, set: pool });
    const fresh = spec.ips.filter((s) => !existing.some((e) => e.id === s.id));
    for (const s of spec.ips) {
      const values = { id: s.id, poolId: id, localAddress: s.ip, ehloName: s.ehloName, weight: s.weight };
      await tx.insert(sendingIps).values(values).onConflictDoUpdate({ target: sendingIps.id, set: values });
    }
    if (fresh.length)
      await tx
        .insert(ipWarmups)
        .values(fresh.map((s) => ({ ipId: s.id, startedAt: new Date() })))
        .onConflictDoNothing();
    const draining = await tx
      .update(sendingIps)
      .set({ weight: 0 })
      .where(and(eq(sendingIps.poolId, id), ids.length ? notInArray(sendingIps.id, ids) : undefined))
      .returning({ id: sendingIps.id });
    await appendAudit(tx, {
      tenantId: OPERATOR_TENANT,
      step: created ? 'pool.created' : 'pool.updated',
      detail: { poolId: id, kind: spec.kind, warming: fresh.map((s) => s.id), draining: draining.map((s) => s.id), by },
    });
    return { created, warming: fresh.map((s) => s.id), draining: draining.map((s) => s.id) } as const;
  });
}
