import { sql } from 'drizzle-orm';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Db } from '../../db/client.js';
import { boundedLabel } from './registry.js';

// Gauges read from Postgres at scrape time, so they are right whichever process did the work.
// One registry per API instance (it holds the database handle).

/** Notifications by type, category and status are counted at most this often (a grouped count over the table). */
const NOTIFICATION_COUNT_TTL_MS = 15_000;

/** Type and category keys are chosen by tenants: past this many distinct values the rest count as "other". */
export const LABEL_LIMITS = { types: 100, categories: 30 };

type CountRow = { type: string; category: string; status: string; n: number };

/**
 * Keeps the `limit` values of `field` with the most notifications (ties by name, so a scrape
 * names the same ones), folds the others into "other", and sums the rows that now share labels.
 */
export function foldLabels(rows: CountRow[], limits: { types: number; categories: number }): CountRow[] {
  const keep = (field: 'type' | 'category', limit: number) => {
    const totals = new Map<string, number>();
    for (const r of rows) totals.set(r[field], (totals.get(r[field]) ?? 0) + r.n);
    const ranked = [...totals].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0));
    return new Set(ranked.slice(0, limit).map(([v]) => v));
  };
  const types = keep('type', limits.types);
  const categories = keep('category', limits.categories);
  const folded = new Map<string, CountRow>();
  for (const r of rows) {
    const type = types.has(r.type) ? boundedLabel(r.type) : 'other';
    const category = categories.has(r.category) ? boundedLabel(r.category) : 'other';
    const key = JSON.stringify([type, category, r.status]);
    const row = folded.get(key);
    if (row) row.n += r.n;
    else folded.set(key, { type, category, status: r.status, n: r.n });
  }
  return [...folded.values()];
}

export function databaseGauges(db: Db, limits = LABEL_LIMITS): Registry {
  const registry = new Registry();
  let cached: { at: number; rows: CountRow[] } | undefined;

  new Gauge({
    name: 'notiflow_notifications',
    help: 'Notifications in the database by type, category and current status (types and categories past the most frequent counted as "other")',
    labelNames: ['type', 'category', 'status'] as const,
    registers: [registry],
    async collect() {
      if (!cached || Date.now() - cached.at > NOTIFICATION_COUNT_TTL_MS) {
        const rows = await db.execute<CountRow>(
          sql`select type, category_key as category, status, count(*)::int as n from notifications group by 1, 2, 3`,
        );
        cached = { at: Date.now(), rows: foldLabels([...rows], limits) };
      }
      this.reset();
      for (const r of cached.rows) this.set({ type: r.type, category: r.category, status: r.status }, r.n);
    },
  });

  new Gauge({
    name: 'notiflow_postgres_connections',
    help: "Connections to the engine's database by state (active, idle, ...), all processes",
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const rows = await db.execute<{ state: string; n: number }>(
        sql`select coalesce(state, 'unknown') as state, count(*)::int as n from pg_stat_activity where datname = current_database() group by 1`,
      );
      this.reset();
      for (const r of rows) this.set({ state: r.state }, r.n);
    },
  });

  // A counter read from Postgres: the inbound listener (its own process) counts there.
  new Counter({
    name: 'notiflow_dmarc_reports_total',
    help: 'DMARC aggregate reports received, by outcome (stored, duplicate, unknown_domain: dropped as no tenant owns the domain, refused)',
    labelNames: ['outcome'] as const,
    registers: [registry],
    async collect() {
      const rows = await db.execute<{ outcome: string; n: number }>(sql`select outcome, reports::float8 as n from dmarc_report_counts`);
      this.reset();
      for (const r of rows) this.inc({ outcome: boundedLabel(r.outcome, 32) }, r.n);
    },
  });

  new Gauge({
    name: 'notiflow_postgres_pool_max',
    help: "Size limit of this process's Postgres connection pool",
    registers: [registry],
    collect() {
      this.set(db.$client.options.max);
    },
  });
  return registry;
}
