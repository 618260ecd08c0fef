import { and, eq, like, sql } from 'drizzle-orm';
import { ipQuarantine, pools, sendingIps, tenants } from '../../db/schema.js';
import { holdTenant } from '../tenancy/tenants.js';
import type { Logger } from 'pino';
import type { Db } from '../../db/client.js';
import { raiseAlarm, resolveAlarm } from './alarms.js';
import { createDnsblResolver, queryDnsbl, type DnsblAnswer } from './dnsbl.js';
import { defaultMonitoring, type MonitoringSettings } from './settings.js';

export interface BlocklistReport {
  checked: number;
  listed: { ip: string; zones: string[] }[];
  released: string[];
  /** Lookups that gave no verdict (refused, timeout): the IP's state is left as it was. */
  errors: { ip: string; zone: string; error: string }[];
  /** Alarms the operator must be told about. */
  newAlarms: string[];
}

const reasonPrefix = 'dnsbl:';

/**
 * Checks every sending IP against the configured DNSBL zones. A listed IP is quarantined at
 * once for every provider and an alarm raised; it is released once every zone that listed it
 * answers "not listed". Refused or failed lookups are errors, never listings.
 */
export async function checkBlocklists({
  db,
  monitoring = defaultMonitoring,
  logger,
}: {
  db: Db;
  monitoring?: MonitoringSettings;
  logger: Logger;
}): Promise<BlocklistReport> {
  const { zones, servers, timeoutMs } = monitoring.dnsbl;
  const ips = (await db.selectDistinct({ ip: sendingIps.localAddress }).from(sendingIps)).map((r) => r.ip);
  const report: BlocklistReport = { checked: ips.length, listed: [], released: [], errors: [], newAlarms: [] };
  if (zones.length === 0) return report;
  const resolver = createDnsblResolver(servers, timeoutMs);
  // IP -> the zones that listed it when it was quarantined.
  const quarantined = new Map(
    (
      await db
        .select()
        .from(ipQuarantine)
        .where(like(ipQuarantine.reason, `${reasonPrefix}%`))
    ).map((r) => [r.ip, r.reason.slice(reasonPrefix.length).split(',')]),
  );
  for (const ip of ips) {
    const answers: DnsblAnswer[] = await Promise.all(zones.map((zone) => queryDnsbl(resolver, ip, zone)));
    const listedIn = answers.flatMap((a) => ('listed' in a && a.listed ? [a] : []));
    for (const a of answers) if ('error' in a) report.errors.push({ ip, zone: a.zone, error: a.error });
    if (listedIn.length > 0) {
      const reason = `${reasonPrefix}${listedIn.map((a) => a.zone).join(',')}`;
      await db
        .insert(ipQuarantine)
        .values({ ip, reason })
        .onConflictDoUpdate({ target: ipQuarantine.ip, set: { reason }, where: sql`${ipQuarantine.reason} like ${`${reasonPrefix}%`}` });
      report.listed.push({ ip, zones: listedIn.map((a) => a.zone) });
      const id = await raiseAlarm(db, {
        kind: 'blocklist',
        scope: `ip:${ip}`,
        severity: 'alarm',
        message: `Sending IP ${ip} is listed on ${listedIn.map((a) => a.zone).join(', ')}: quarantined for all providers`,
        detail: { ip, listings: listedIn.map((a) => ({ zone: a.zone, codes: a.codes })) },
      });
      if (id) report.newAlarms.push(id);
      // A dedicated IP carries its tenant's reputation: that tenant is put on hold (shared IPs: quarantine only).
      const owners = await db
        .selectDistinct({ tenantId: tenants.id })
        .from(sendingIps)
        .innerJoin(pools, and(eq(pools.id, sendingIps.poolId), eq(pools.kind, 'dedicated')))
        .innerJoin(tenants, eq(tenants.poolId, pools.id))
        .where(eq(sendingIps.localAddress, ip));
      for (const o of owners) {
        const held = await holdTenant(db, o.tenantId, `its dedicated IP ${ip} is listed on ${listedIn.map((a) => a.zone).join(', ')}`);
        if (held) report.newAlarms.push(held);
      }
    } else if (quarantined.get(ip)?.every((zone) => answers.some((a) => a.zone === zone && 'listed' in a))) {
      // Every zone that listed it now answers "not listed" (a zone that can't answer proves nothing).
      await db.delete(ipQuarantine).where(eq(ipQuarantine.ip, ip));
      await resolveAlarm(db, 'blocklist', `ip:${ip}`);
      report.released.push(ip);
    }
  }
  if (report.listed.length || report.released.length || report.errors.length) logger.warn({ ...report }, 'blocklist check');
  return report;
}
