import { and, gt, inArray, isNull, or } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { egressQuarantine } from '../../db/schema.js';

/** Drops egress sources whose IP is quarantined (e.g. listed on a DNSBL) for every provider. */
export async function withoutQuarantined<T extends { localAddress: string }>(db: Db, sources: T[]): Promise<T[]> {
  if (sources.length === 0) return sources;
  const held = await db
    .select({ ip: egressQuarantine.ip })
    .from(egressQuarantine)
    .where(and(inArray(egressQuarantine.ip, sources.map((s) => s.localAddress)), or(isNull(egressQuarantine.until), gt(egressQuarantine.until, new Date()))));
  if (held.length === 0) return sources;
  const ips = new Set(held.map((h) => h.ip));
  return sources.filter((s) => !ips.has(s.localAddress));
}
