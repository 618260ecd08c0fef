// Aggregate reports mailed to the rua address a tenant's DMARC record names
// (dmarc@nfbounce.<domain>): unpacked within caps, parsed, and stored for the tenant that owns
// the policy domain. A report for a domain no tenant owns is dropped (answered 250, so the
// reporter does not retry) and counted; a malformed or oversized one is refused and nothing kept.
import { eq, sql } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { dmarcRecords, dmarcReportCounts, dmarcReports, sendingDomains } from '../db/schema.js';
import { dmarcAlarms } from '../domain/dmarc/alarms.js';
import { RETURN_PATH_LABEL } from '../domain/sending-domains/records.js';
import { parseDmarcXml } from './dmarc-parse.js';
import { DmarcRefused, unpackDmarcMail } from './dmarc-unpack.js';

export interface DmarcSettings {
  /** Decompressed XML cap (DMARC_MAX_REPORT_BYTES). */
  maxXmlBytes: number;
  /** Forged messages in one report that raise an alarm (DMARC_FORGED_ALARM_MESSAGES). */
  forgedAlarmMessages: number;
}

export const defaultDmarcSettings: DmarcSettings = { maxXmlBytes: 16 * 1024 * 1024, forgedAlarmMessages: 10 };

/** The local part of the rua address. */
export const RUA_LOCAL_PART = 'dmarc';
export const ruaAddress = (domain: string) => `${RUA_LOCAL_PART}@${RETURN_PATH_LABEL}.${domain}`;
/** Is this recipient a rua address (dmarc@nfbounce.<domain>)? */
export const isRuaAddress = (address: string) => new RegExp(`^${RUA_LOCAL_PART}@${RETURN_PATH_LABEL}\\.`, 'i').test(address);

export type DmarcOutcome = 'stored' | 'duplicate' | 'unknown_domain' | 'refused';
export type DmarcResult = { status: 'dmarc'; outcome: DmarcOutcome; domain?: string; records?: number; reason?: string };

export async function countDmarc(db: Db, outcome: DmarcOutcome): Promise<void> {
  await db
    .insert(dmarcReportCounts)
    .values({ outcome, reports: 1 })
    .onConflictDoUpdate({ target: dmarcReportCounts.outcome, set: { reports: sql`${dmarcReportCounts.reports} + 1` } });
}

/** Stores one mailed report. Throws DmarcRefused (with its SMTP code) for a report to refuse. */
export async function handleDmarcReport(db: Db, raw: Buffer, settings: DmarcSettings = defaultDmarcSettings): Promise<DmarcResult> {
  let report;
  try {
    report = parseDmarcXml(await unpackDmarcMail(raw, settings.maxXmlBytes));
  } catch (err) {
    if (err instanceof DmarcRefused) await countDmarc(db, 'refused');
    throw err;
  }
  const [owner] = await db.select({ tenantId: sendingDomains.tenantId }).from(sendingDomains).where(eq(sendingDomains.domain, report.domain));
  if (!owner) {
    await countDmarc(db, 'unknown_domain');
    return { status: 'dmarc', outcome: 'unknown_domain' };
  }
  const { tenantId } = owner;
  const day = report.begin.toISOString().slice(0, 10);
  const stored = await db.transaction(async (tx) => {
    const [row] = await tx
      .insert(dmarcReports)
      .values({
        tenantId,
        domain: report.domain,
        orgName: report.orgName,
        reportId: report.reportId,
        format: report.format,
        beginAt: report.begin,
        endAt: report.end,
        policy: report.policy,
        messages: report.rows.reduce((n, r) => n + r.count, 0),
      })
      .onConflictDoNothing()
      .returning({ id: dmarcReports.id });
    if (!row) return false;
    for (let i = 0; i < report.rows.length; i += 1000) {
      await tx.insert(dmarcRecords).values(
        report.rows.slice(i, i + 1000).map((r) => ({
          reportId: row.id,
          tenantId,
          domain: report.domain,
          day,
          sourceIp: r.sourceIp,
          count: r.count,
          disposition: r.disposition,
          dkim: r.dkim,
          spf: r.spf,
          headerFrom: r.headerFrom,
          envelopeFrom: r.envelopeFrom,
          dkimResults: r.dkimResults,
          spfResults: r.spfResults,
          reasons: r.reasons,
        })),
      );
    }
    return true;
  });
  await countDmarc(db, stored ? 'stored' : 'duplicate');
  if (!stored) return { status: 'dmarc', outcome: 'duplicate', domain: report.domain };
  await dmarcAlarms(
    db,
    { tenantId, domain: report.domain, orgName: report.orgName, reportId: report.reportId, rows: report.rows },
    settings.forgedAlarmMessages,
  );
  return { status: 'dmarc', outcome: 'stored', domain: report.domain, records: report.rows.length };
}
