import { boolean, index, integer, pgTable, text, uuid } from 'drizzle-orm/pg-core';
import { at, createdAt } from './columns.js';
import { sendingIps } from './schema-pools.js';

// Inbox placement from seed mailboxes: the operator's own mailboxes at the providers that
// matter, a scheduled run that sends a marked message from each pool IP to each seed, and
// where each one landed (inbox, spam folder, missing), read back over IMAP.

/** An operator's seed mailbox; its IMAP password is sealed with the keyring (seed-mailbox), bound to the row. */
export const seedMailboxes = pgTable('seed_mailboxes', {
  id: uuid('id').primaryKey().defaultRandom(),
  /** The provider (provider-rules name) whose filtering this mailbox shows; results feed that provider's score. */
  provider: text('provider').notNull(),
  address: text('address').notNull().unique(),
  imapHost: text('imap_host').notNull(),
  imapPort: integer('imap_port').notNull(),
  /** Implicit TLS (993); false: plain, upgraded with STARTTLS when offered. */
  imapTls: boolean('imap_tls').notNull(),
  username: text('username').notNull(),
  passwordEnc: text('password_enc').notNull(),
  createdAt: createdAt(),
});

/** One placement run: started by the schedule or an operator. */
export const placementRuns = pgTable('placement_runs', {
  id: uuid('id').primaryKey(),
  trigger: text('trigger', { enum: ['schedule', 'operator'] }).notNull(),
  startedAt: at('started_at').notNull().defaultNow(),
  /** When the seeds were read; null while the run waits. */
  checkedAt: at('checked_at'),
});

/**
 * One marked message: from one IP to one seed. `outcome` is null until read back; `not_sent` when
 * the send was refused or no IP slot was free (its reply in `detail`), `unchecked` when the seed
 * could not be read.
 */
export const placementProbes = pgTable(
  'placement_probes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    runId: uuid('run_id')
      .notNull()
      .references(() => placementRuns.id, { onDelete: 'cascade' }),
    ipId: text('ip_id')
      .notNull()
      .references(() => sendingIps.id, { onDelete: 'cascade' }),
    sourceIp: text('source_ip').notNull(),
    seedId: uuid('seed_id').references(() => seedMailboxes.id, { onDelete: 'set null' }),
    provider: text('provider').notNull(),
    /** The tenant whose sending domain signed it (the pool's oldest tenant able to send). */
    tenantId: text('tenant_id').notNull(),
    /** The unique token in the X-Notiflow-Placement header and the subject. */
    marker: text('marker').notNull().unique(),
    status: text('status', { enum: ['planned', 'sent', 'not_sent'] })
      .notNull()
      .default('planned'),
    outcome: text('outcome', { enum: ['inbox', 'spam', 'missing', 'not_sent', 'unchecked'] }),
    /** The folder it was found in, the SMTP reply of a refused send, or why the seed could not be read. */
    detail: text('detail'),
    sentAt: at('sent_at'),
    checkedAt: at('checked_at'),
  },
  (t) => [index('placement_probes_run_idx').on(t.runId), index('placement_probes_ip_idx').on(t.ipId, t.checkedAt)],
);
