// Postgres cost of a measurement: rows inserted (pg_stat_user_tables.n_tup_ins), bytes of tables and
// indexes (pg_total_relation_size) and WAL written, as deltas between two snapshots.
import type postgres from 'postgres';
import { round, sleep } from './stats.js';

export interface PgSnapshot {
  rows: Record<string, number>;
  bytes: Record<string, number>;
  walLsn: string;
}

export async function pgSnapshot(sql: postgres.Sql): Promise<PgSnapshot> {
  // Backends flush their statistics about once a second; wait so the counters include the last writes.
  await sleep(1500);
  // Partitions (audit_events_2026_11, ...) count under their partitioned table.
  const tables = await sql<{ name: string; ins: string; bytes: string }[]>`
    select coalesce(pg_partition_root(relid)::regclass::text, relname) as name, sum(n_tup_ins) as ins, sum(pg_total_relation_size(relid)) as bytes
    from pg_stat_user_tables where schemaname = 'public' group by 1`;
  const [wal] = await sql<{ lsn: string }[]>`select pg_current_wal_lsn()::text as lsn`;
  return {
    rows: Object.fromEntries(tables.map((t) => [t.name, Number(t.ins)])),
    bytes: Object.fromEntries(tables.map((t) => [t.name, Number(t.bytes)])),
    walLsn: wal!.lsn,
  };
}

export interface PgCost {
  rowsPerNotification: number;
  bytesPerNotification: number;
  walBytesPerNotification: number;
  rowsByTable: Record<string, number>;
}

export async function pgCost(sql: postgres.Sql, before: PgSnapshot, after: PgSnapshot, notifications: number): Promise<PgCost> {
  const n = Math.max(1, notifications);
  const rowsByTable: Record<string, number> = {};
  let rows = 0;
  let bytes = 0;
  for (const [name, ins] of Object.entries(after.rows)) {
    const d = ins - (before.rows[name] ?? 0);
    if (d > 0) rowsByTable[name] = round(d / n, 2);
    rows += d;
    bytes += (after.bytes[name] ?? 0) - (before.bytes[name] ?? 0);
  }
  const [wal] = await sql<{ d: string }[]>`select pg_wal_lsn_diff(${after.walLsn}::pg_lsn, ${before.walLsn}::pg_lsn) as d`;
  return {
    rowsPerNotification: round(rows / n, 2),
    bytesPerNotification: Math.round(bytes / n),
    walBytesPerNotification: Math.round(Number(wal!.d) / n),
    rowsByTable,
  };
}
