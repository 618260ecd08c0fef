import { and, gt, inArray, isNull, or } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { ipQuarantine } from '../../db/schema.js';

/** Drops the IPs that are quarantined (e.g. listed on a DNSBL) for every provider. */
export async function withoutQuarantined<T extends { localAddress: string }>(db: Db, ips: T[]): Promise<T[]> {
  if (ips.length === 0) return ips;
  const held = await db
    .select({ ip: ipQuarantine.ip })
    .from(ipQuarantine)
    .where(
      and(
        inArray(
          ipQuarantine.ip,
          ips.map((s) => s.localAddress),
        ),
        or(isNull(ipQuarantine.until), gt(ipQuarantine.until, new Date())),
      ),
    );
  if (held.length === 0) return ips;
  const quarantined = new Set(held.map((h) => h.ip));
  return ips.filter((s) => !quarantined.has(s.localAddress));
}
