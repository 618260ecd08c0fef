import { bigint, bigserial, date, index, integer, jsonb, pgTable, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { at } from './columns.js';
import { tenants } from './schema-tenants.js';

// DMARC aggregate reports (RFC 7489 appendix C, RFC 9990) mailed to the rua address, kept per
// tenant domain. They hold source IPs, counts and domains: no recipient address is stored.

/** One report: who sent it, about which domain, for which period. */
export const dmarcReports = pgTable(
  'dmarc_reports',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    /** The policy domain (policy_published/domain), one of the tenant's sending domains. */
    domain: text('domain').notNull(),
    orgName: text('org_name').notNull(),
    reportId: text('report_id').notNull(),
    /** 'rfc7489' or 'rfc9990' (namespace urn:ietf:params:xml:ns:dmarc-2.0 or a <version> element). */
    format: text('format').notNull(),
    beginAt: at('begin_at').notNull(),
    endAt: at('end_at').notNull(),
    /** policy_published as reported (p, sp, np, adkim, aspf, pct, testing). */
    policy: jsonb('policy').notNull(),
    messages: bigint('messages', { mode: 'number' }).notNull(),
    receivedAt: at('received_at').notNull().defaultNow(),
  },
  // A reporter sending the same report again (an SMTP retry) stores it once.
  (t) => [uniqueIndex('dmarc_reports_unique_idx').on(t.domain, t.orgName, t.reportId)],
);

/** One row of a report: a source IP's messages with one outcome. */
export const dmarcRecords = pgTable(
  'dmarc_records',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    reportId: bigint('report_id', { mode: 'number' })
      .notNull()
      .references(() => dmarcReports.id, { onDelete: 'cascade' }),
    tenantId: text('tenant_id').notNull(),
    domain: text('domain').notNull(),
    /** The UTC day the report's period begins. */
    day: date('day', { mode: 'string' }).notNull(),
    sourceIp: text('source_ip').notNull(),
    count: integer('count').notNull(),
    /** policy_evaluated: none | quarantine | reject (as text: reporters send out-of-spec values). */
    disposition: text('disposition').notNull(),
    /** policy_evaluated dkim / spf: pass means aligned and passing. */
    dkim: text('dkim').notNull(),
    spf: text('spf').notNull(),
    headerFrom: text('header_from').notNull(),
    envelopeFrom: text('envelope_from'),
    /** auth_results: [{ domain, selector, result }] and [{ domain, scope, result }]. */
    dkimResults: jsonb('dkim_results').notNull(),
    spfResults: jsonb('spf_results').notNull(),
    /** policy_evaluated reason types (forwarded, mailing_list, ...). */
    reasons: jsonb('reasons').notNull(),
  },
  (t) => [index('dmarc_records_domain_day_idx').on(t.tenantId, t.domain, t.day), index('dmarc_records_report_idx').on(t.reportId)],
);

/**
 * Reports received, by outcome (stored, duplicate, unknown_domain, refused): counted here, not in
 * one process's memory, so /metrics says the same whichever process runs the listener.
 */
export const dmarcReportCounts = pgTable('dmarc_report_counts', {
  outcome: text('outcome').primaryKey(),
  reports: bigint('reports', { mode: 'number' }).notNull().default(0),
});
