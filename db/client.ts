import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema.js';

export type Db = ReturnType<typeof drizzle<typeof schema>>;

export interface Database {
  db: Db;
  sql: postgres.Sql;
  close(): Promise<void>;
}

/** Opens a connection pool; every part of the engine receives this handle, never a global. */
export function connectDatabase(url: string, opts: { max?: number } = {}): Database {
  const sql = postgres(url, { max: opts.max ?? 10, onnotice: () => {} });
  const db = drizzle(sql, { schema });
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}

const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url));
/** Held while migrating: several API processes starting at once migrate one after the other. */
const MIGRATION_LOCK = 7_310_001;

/** Applies the committed migrations (idempotent; safe to run at every start), under an advisory lock. */
export async function migrateDatabase(url: string): Promise<void> {
  // One connection: the lock, the migrations and the unlock share a session.
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(${MIGRATION_LOCK})`;
    try {
      await migrate(drizzle(sql), { migrationsFolder });
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** How many migrations this code was built with. */
export function expectedMigrations(): number {
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
  return journal.entries.length;
}

/** How many migrations the database has applied (0 before the first). */
export async function appliedMigrations(sql: postgres.Sql): Promise<number> {
  const [row] = await sql<
    { n: number }[]
  >`select case when to_regclass('drizzle.__drizzle_migrations') is null then 0 else (select count(*)::int from drizzle.__drizzle_migrations) end as n`;
  return row?.n ?? 0;
}

/**
 * Waits until the database has every migration this code needs (the API or `npm run db:migrate`
 * applies them), instead of failing on a table or function that is not there yet.
 */
export async function waitForSchema(sql: postgres.Sql, log: (msg: string) => void, pollMs = 2_000): Promise<void> {
  const expected = expectedMigrations();
  let lastLog = 0;
  for (;;) {
    const applied = await appliedMigrations(sql).catch(() => -1);
    if (applied >= expected) return;
    if (Date.now() - lastLog > 30_000) {
      log(`waiting for the database schema (${Math.max(applied, 0)} of ${expected} migrations applied): run "npm run db:migrate" or start the API`);
      lastLog = Date.now();
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
