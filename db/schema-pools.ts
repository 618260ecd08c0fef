import { bigserial, index, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { at, createdAt } from './columns.js';

// Reputation-aware pools: per-provider controls on sending IPs, warm-up ramps, the shared
// send counters that hold limits across every worker process, and reputation outcomes.

/** A group of sending IPs; dedicated pools serve one tenant, shared pools many. */
export const pools = pgTable('pools', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  kind: text('kind', { enum: ['shared', 'dedicated'] })
    .notNull()
    .default('shared'),
  /** Smart host the pool relays through (dev inbox, a relay); null means direct MX delivery. */
  relayHost: text('relay_host'),
  relayPort: integer('relay_port'),
  createdAt: createdAt(),
});

/**
 * One sending IP of a pool: its address and EHLO name. (The SQL names egress_sources, egress_*
 * and egress_id predate the word "IP" used everywhere else; renaming them needs a migration that
 * also rewrites reserve_send_slot().)
 */
export const sendingIps = pgTable('egress_sources', {
  id: text('id').primaryKey(),
  poolId: text('pool_id')
    .notNull()
    .references(() => pools.id, { onDelete: 'cascade' }),
  localAddress: text('local_address').notNull(),
  ehloName: text('ehlo_name').notNull(),
  weight: integer('weight').notNull().default(100),
  createdAt: createdAt(),
});

/** All providers at once, in the `provider` columns below. */
export const ALL_PROVIDERS = '*';

/**
 * A suspension or throttle of one IP for one provider (or '*'), until a time.
 * Set by a response rule or by an operator; scoped to IP x provider, never global.
 */
export const ipControls = pgTable(
  'egress_controls',
  {
    ipId: text('egress_id')
      .notNull()
      .references(() => sendingIps.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    kind: text('kind', { enum: ['suspend', 'throttle'] }).notNull(),
    until: at('until').notNull(),
    /** Throttle: at most rateCount messages per ratePerMs. */
    rateCount: integer('rate_count'),
    ratePerMs: integer('rate_per_ms'),
    reason: text('reason').notNull(),
    /** The response rule id, or "operator". */
    setBy: text('set_by').notNull(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.ipId, t.provider, t.kind] })],
);

/** A new IP's warm-up: its daily cap follows the rules file's ramp from this day on. */
export const ipWarmups = pgTable('egress_warmups', {
  ipId: text('egress_id')
    .primaryKey()
    .references(() => sendingIps.id, { onDelete: 'cascade' }),
  startedAt: at('started_at').notNull(),
});

/**
 * One send slot taken from an IP for a provider. Rates, concurrency and warm-up caps
 * are counted here under an advisory lock, so they hold across all worker processes together.
 */
export const sendReservations = pgTable(
  'send_reservations',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    ipId: text('egress_id').notNull(),
    provider: text('provider').notNull(),
    reservedAt: at('reserved_at').notNull(),
    /** null while the SMTP transaction is in flight. */
    releasedAt: at('released_at'),
  },
  (t) => [index('send_reservations_egress_idx').on(t.ipId, t.reservedAt)],
);

/**
 * Delivery outcomes per IP x provider, the input of the reputation score. `charge` says who
 * carries it: the IP, or the tenant (unknown-user bounces are list hygiene, not IP reputation).
 */
export const reputationEvents = pgTable(
  'reputation_events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    ipId: text('egress_id').notNull(),
    provider: text('provider').notNull(),
    tenantId: text('tenant_id').notNull(),
    /** delivered, deferred, rate_limited, blocked, bounce:<class>, complaint */
    kind: text('kind').notNull(),
    charge: text('charge', { enum: ['ip', 'tenant'] }).notNull(),
    /** The response rule that matched, if any. */
    ruleId: text('rule_id'),
    at: at('at').notNull(),
  },
  (t) => [index('reputation_events_egress_idx').on(t.ipId, t.at), index('reputation_events_tenant_idx').on(t.tenantId, t.at)],
);
