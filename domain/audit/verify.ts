import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';

export interface ChainProblem {
  tenantId: string;
  seq: number | null;
  /** The audit event's id, null for a problem with the chain head. */
  id: number | null;
  problem: string;
}

export interface ChainReport {
  ok: boolean;
  tenants: number;
  events: number;
  /** Events whose detail an erasure blanked: their digest still holds the chain. */
  erased: number;
  problems: ChainProblem[];
}

const MAX_PROBLEMS = 1000;

/**
 * Recomputes every tenant's audit hash chain (migration 0011) in Postgres: each event's hash from
 * its fields, its link to the previous event, no gap in the sequence, the first surviving event
 * linking to the retention anchor (or the start), the head matching the last event, and each
 * detail matching its digest unless an erasure blanked it. A deleted, changed or reordered row
 * shows up as a problem naming the tenant and position.
 */
export async function verifyAuditChain(db: Pick<Db, 'execute'>, tenantId?: string): Promise<ChainReport> {
  const only = tenantId ? sql`WHERE tenant_id = ${tenantId}` : sql``;
  const problems = await db.execute<{ tenant_id: string; seq: string | null; id: string | null; problem: string }>(sql`
    WITH ev AS (
      SELECT tenant_id, seq, id, at, step, notification_id, detail, detail_digest, prev_hash, hash,
             lag(seq) OVER w AS prev_seq, lag(hash) OVER w AS prev_row_hash, row_number() OVER w AS rn
        FROM audit_events ${only}
      WINDOW w AS (PARTITION BY tenant_id ORDER BY seq NULLS FIRST, id)
    ), anchor AS (
      SELECT DISTINCT ON (tenant_id) tenant_id, seq, hash FROM audit_chain_anchors ORDER BY tenant_id, seq DESC
    ), last AS (
      SELECT DISTINCT ON (tenant_id) tenant_id, seq, hash FROM ev ORDER BY tenant_id, seq DESC NULLS LAST
    )
    SELECT ev.tenant_id, ev.seq, ev.id, p.problem
      FROM ev LEFT JOIN anchor a USING (tenant_id)
      CROSS JOIN LATERAL (VALUES
        (CASE WHEN ev.hash IS NULL OR ev.seq IS NULL THEN 'event is not chained' END),
        (CASE WHEN ev.hash <> audit_event_hash(ev.prev_hash, ev.tenant_id, ev.seq, ev.id, ev.at, ev.step, ev.notification_id, ev.detail_digest)
              THEN 'event changed: its hash does not match its fields' END),
        (CASE WHEN ev.detail <> '{"erased": true}'::jsonb AND ev.detail_digest IS DISTINCT FROM audit_detail_digest(ev.detail)
              THEN 'detail changed: it does not match its digest' END),
        (CASE
           WHEN ev.rn = 1 AND (ev.seq <> coalesce(a.seq, 0) + 1 OR ev.prev_hash <> coalesce(a.hash, '\\x'::bytea))
             THEN 'events missing before this one (the chain does not start at its anchor)'
           WHEN ev.rn > 1 AND ev.seq = ev.prev_seq THEN 'two events at the same position'
           WHEN ev.rn > 1 AND ev.seq <> ev.prev_seq + 1 THEN 'events missing before this one (gap in the sequence)'
           WHEN ev.rn > 1 AND ev.prev_hash <> ev.prev_row_hash THEN 'link broken: the previous event is not the one this event was chained to'
         END)
      ) AS p(problem)
     WHERE p.problem IS NOT NULL
    UNION ALL
    SELECT h.tenant_id, h.seq, NULL, 'events missing at the end: the chain head is past the last event'
      FROM audit_chain_heads h LEFT JOIN last l USING (tenant_id) LEFT JOIN anchor a USING (tenant_id)
     WHERE ${tenantId ? sql`h.tenant_id = ${tenantId} AND ` : sql``}
           (h.seq <> coalesce(l.seq, a.seq, 0) OR h.hash <> coalesce(l.hash, a.hash, '\\x'::bytea))
    ORDER BY 1, 2 NULLS FIRST
    LIMIT ${MAX_PROBLEMS}
  `);
  const [counts] = await db.execute<{ tenants: number; events: number; erased: number }>(sql`
    SELECT count(DISTINCT tenant_id)::int AS tenants, count(*)::int AS events,
           count(*) FILTER (WHERE detail = '{"erased": true}'::jsonb)::int AS erased
      FROM audit_events ${only}
  `);
  return {
    ok: problems.length === 0,
    tenants: counts?.tenants ?? 0,
    events: counts?.events ?? 0,
    erased: counts?.erased ?? 0,
    problems: problems.map((p) => ({
      tenantId: p.tenant_id,
      seq: p.seq === null ? null : Number(p.seq),
      id: p.id === null ? null : Number(p.id),
      problem: p.problem,
    })),
  };
}
