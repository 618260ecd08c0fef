import { date, doublePrecision, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { at } from './columns.js';

// What mailbox providers report about our mail, imported by the operator: Microsoft SNDS per IP
// and day, Google Postmaster Tools per sending domain and day.

/** One SNDS row: an IP's activity period (a day) as Outlook.com saw it. */
export const sndsIpDays = pgTable(
  'snds_ip_days',
  {
    ip: text('ip').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    rcptCommands: integer('rcpt_commands').notNull(),
    dataCommands: integer('data_commands').notNull(),
    messageRecipients: integer('message_recipients').notNull(),
    /** GREEN (< 10 % spam), YELLOW (10-90 %), RED (> 90 %). */
    filterResult: text('filter_result').notNull(),
    /** As SNDS writes it: "< 0.1%", "0.3%". */
    complaintRate: text('complaint_rate').notNull(),
    trapHits: integer('trap_hits').notNull(),
    importedAt: at('imported_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.ip, t.day] })],
);

/** One Postmaster Tools traffic-stats day of a sending domain. */
export const postmasterDomainDays = pgTable(
  'postmaster_domain_days',
  {
    domain: text('domain').notNull(),
    day: date('day', { mode: 'string' }).notNull(),
    /** userReportedSpamRatio, 0..1. */
    spamRate: doublePrecision('spam_rate'),
    spfSuccessRatio: doublePrecision('spf_success_ratio'),
    dkimSuccessRatio: doublePrecision('dkim_success_ratio'),
    dmarcSuccessRatio: doublePrecision('dmarc_success_ratio'),
    domainReputation: text('domain_reputation'),
    importedAt: at('imported_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.domain, t.day] })],
);
