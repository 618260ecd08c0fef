// Which report sources are ours: the addresses of every pool's sending IPs.
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { pools, sendingIps } from '../../db/schema.js';

/** Our sending addresses (lower-cased), each with its pool. */
export async function poolAddresses(db: Db): Promise<Map<string, { poolId: string; poolName: string }>> {
  const rows = await db
    .select({ ip: sendingIps.localAddress, poolId: pools.id, poolName: pools.name })
    .from(sendingIps)
    .innerJoin(pools, eq(pools.id, sendingIps.poolId));
  return new Map(rows.map((r) => [r.ip.toLowerCase(), { poolId: r.poolId, poolName: r.poolName }]));
}

/** DMARC passes when either mechanism passed aligned (policy_evaluated). */
export const dmarcPasses = (r: { dkim: string; spf: string }) => r.dkim === 'pass' || r.spf === 'pass';
