// Database round trips per notification: statements the server executed (pg_stat_statements
// calls, top-level only, BEGIN/COMMIT included), as a delta between two snapshots. Each statement
// is one request/response with the server, so this counts round trips as the driver makes them
// (postgres.js may pipeline some of them on one connection).
import type postgres from 'postgres';
import { round } from './stats.js';

export type StatementSnapshot = Map<string, { query: string; calls: number }> | null;

/** The bench's own statistics queries, not part of the engine's cost. */
const OWN = /pg_stat_|pg_current_wal_lsn|pg_wal_lsn_diff|pg_partition_root|pg_total_relation_size/;

/** Loads the extension where the server preloads it; false when it cannot (then no count). */
export async function enableStatementStats(sql: postgres.Sql): Promise<boolean> {
  try {
    await sql`create extension if not exists pg_stat_statements`;
    await sql`select pg_stat_statements_reset()`;
    return true;
  } catch {
    return false;
  }
}

export async function statementSnapshot(sql: postgres.Sql, enabled: boolean): Promise<StatementSnapshot> {
  if (!enabled) return null;
  const rows = await sql<{ id: string; query: string; calls: string }[]>`
    select s.queryid::text || ':' || s.userid::text as id, left(s.query, 160) as query, s.calls::text as calls
    from pg_stat_statements s join pg_database d on d.oid = s.dbid
    where d.datname = current_database() and s.toplevel`;
  return new Map(rows.filter((r) => !OWN.test(r.query)).map((r) => [r.id, { query: r.query.replace(/\s+/g, ' '), calls: Number(r.calls) }]));
}

export interface StatementCost {
  perNotification: number;
  /** The statements that make up most of it, per notification. */
  top: { calls: number; query: string }[];
}

export function statementCost(before: StatementSnapshot, after: StatementSnapshot, n: number): StatementCost | null {
  if (!before || !after) return null;
  const deltas: { calls: number; query: string }[] = [];
  let total = 0;
  for (const [id, a] of after) {
    const d = a.calls - (before.get(id)?.calls ?? 0);
    if (d <= 0) continue;
    total += d;
    deltas.push({ calls: d, query: a.query });
  }
  deltas.sort((x, y) => y.calls - x.calls);
  const per = Math.max(1, n);
  return {
    perNotification: round(total / per, 2),
    top: deltas.slice(0, 15).map((d) => ({ calls: round(d.calls / per, 2), query: d.query })),
  };
}
