// What the DMARC reports say about a tenant's domain, per day and source IP, joined to our pools:
// which sources are ours, how much of each passed SPF/DKIM (aligned, as DMARC judged it, and
// unaligned, as the mechanism itself answered), and which outside sources look forged.
import { and, eq, gte, lte, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { dmarcRecords, dmarcReports } from '../../db/schema.js';
import { poolAddresses } from './sources.js';

export interface DmarcSource {
  ip: string;
  /** One of our pools' sending IPs. */
  ours: boolean;
  pool: string | null;
  messages: number;
  dmarcPass: number;
  dkimAligned: number;
  spfAligned: number;
  dkimAuthPass: number;
  spfAuthPass: number;
  quarantined: number;
  rejected: number;
  /** The reporter named forwarding or a mailing list for some of it. */
  forwarded: boolean;
  /** Not ours, failing DMARC, not forwarded: someone else sending as the domain. */
  forged: boolean;
}

export interface DmarcDay {
  day: string;
  messages: number;
  dmarcPass: number;
  sources: DmarcSource[];
}

export interface DmarcSummary {
  domain: string;
  from: string;
  to: string;
  reports: number;
  reporters: string[];
  days: DmarcDay[];
}

/** Sources listed per day, the largest first. */
export const maxSourcesPerDay = 500;

export async function dmarcSummary(db: Db, tenantId: string, domain: string, from: string, to: string): Promise<DmarcSummary> {
  const n = (expr: ReturnType<typeof sql>) => sql<number>`coalesce(sum(${dmarcRecords.count}) filter (where ${expr}), 0)::bigint`.mapWith(Number);
  const where = and(eq(dmarcRecords.tenantId, tenantId), eq(dmarcRecords.domain, domain), gte(dmarcRecords.day, from), lte(dmarcRecords.day, to));
  const [rows, reports, ours] = await Promise.all([
    db
      .select({
        day: dmarcRecords.day,
        ip: dmarcRecords.sourceIp,
        messages: sql<number>`sum(${dmarcRecords.count})::bigint`.mapWith(Number),
        dmarcPass: n(sql`${dmarcRecords.dkim} = 'pass' or ${dmarcRecords.spf} = 'pass'`),
        dkimAligned: n(sql`${dmarcRecords.dkim} = 'pass'`),
        spfAligned: n(sql`${dmarcRecords.spf} = 'pass'`),
        dkimAuthPass: n(sql`${dmarcRecords.dkimResults} @> '[{"result":"pass"}]'`),
        spfAuthPass: n(sql`${dmarcRecords.spfResults} @> '[{"result":"pass"}]'`),
        quarantined: n(sql`${dmarcRecords.disposition} = 'quarantine'`),
        rejected: n(sql`${dmarcRecords.disposition} = 'reject'`),
        forwarded: sql<boolean>`bool_or(${dmarcRecords.reasons} ?| array['forwarded', 'mailing_list', 'trusted_forwarder'])`,
      })
      .from(dmarcRecords)
      .where(where)
      .groupBy(dmarcRecords.day, dmarcRecords.sourceIp)
      .orderBy(dmarcRecords.day, sql`sum(${dmarcRecords.count}) desc`, dmarcRecords.sourceIp),
    db
      .selectDistinct({ id: dmarcReports.id, orgName: dmarcReports.orgName })
      .from(dmarcReports)
      .innerJoin(dmarcRecords, eq(dmarcRecords.reportId, dmarcReports.id))
      .where(where),
    poolAddresses(db),
  ]);
  const days = new Map<string, DmarcDay>();
  for (const r of rows) {
    let day = days.get(r.day);
    if (!day) days.set(r.day, (day = { day: r.day, messages: 0, dmarcPass: 0, sources: [] }));
    day.messages += r.messages;
    day.dmarcPass += r.dmarcPass;
    if (day.sources.length >= maxSourcesPerDay) continue;
    const pool = ours.get(r.ip);
    day.sources.push({
      ...r,
      forwarded: !!r.forwarded,
      ours: !!pool,
      pool: pool?.poolId ?? null,
      forged: !pool && r.dmarcPass < r.messages && !r.forwarded,
    });
  }
  return { domain, from, to, reports: reports.length, reporters: [...new Set(reports.map((r) => r.orgName))].sort(), days: [...days.values()] };
}
