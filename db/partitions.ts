import { sql } from 'drizzle-orm';
import type { Db } from './client.js';

/**
 * audit_events and delivery_attempts are range-partitioned by month (UTC); see
 * db/migrations/0004_partition_audit_attempts.sql. Creates this month's partition and the next
 * `monthsAhead` months' where missing, and returns how many it created. Idempotent and cheap
 * when nothing is missing: the worker calls it at start and the delivery monitor every run, so a
 * month's partition exists well before its first row.
 */
export async function ensureMonthlyPartitions(db: Pick<Db, 'execute'>, monthsAhead = 3): Promise<number> {
  const [row] = await db.execute<{ created: number }>(sql`select ensure_monthly_partitions(${monthsAhead}::int) as created`);
  return row?.created ?? 0;
}
