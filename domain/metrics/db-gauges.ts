import { sql } from 'drizzle-orm';
import { Gauge, Registry } from 'prom-client';
import type { Db } from '../../db/client.js';

// Gauges read from Postgres at scrape time, so they are right whichever process did the work.
// One registry per API instance (it holds the database handle).

/** Notifications by type, category and status are counted at most this often (a grouped count over the table). */
const NOTIFICATION_COUNT_TTL_MS = 15_000;

export function databaseGauges(db: Db): Registry {
  const registry = new Registry();
  let cached: { at: number; rows: { type: string; category: string; status: string; n: number }[] } | undefined;

  new Gauge({
    name: 'notiflow_notifications',
    help: 'Notifications in the database by type, category and current status',
    labelNames: ['type', 'category', 'status'] as const,
    registers: [registry],
    async collect() {
      if (!cached || Date.now() - cached.at > NOTIFICATION_COUNT_TTL_MS) {
        const rows = await db.execute<{ type: string; category: string; status: string; n: number }>(
          sql`select type, category_key as category, status, count(*)::int as n from notifications group by 1, 2, 3`,
        );
        cached = { at: Date.now(), rows: [...rows] };
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
