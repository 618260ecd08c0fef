import { sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { appendAudit } from '../audit/append.js';

export const OPERATOR_TENANT = '*';

export interface RetentionReport {
  /** Rendered messages removed (older than each tenant's content retention). */
  renderedRemoved: number;
  /** Notifications whose event data was cleared. */
  dataCleared: number;
  /** Delivery attempts and feedback events whose provider text was cleared. */
  responsesCleared: number;
  /** Audit months dropped (partitions), oldest first. */
  auditPartitionsDropped: string[];
}

// Per tenant: content_days from tenant_retention, 90 without a row.
const contentCutoff = sql`now() - make_interval(days => coalesce((select r.content_days from tenant_retention r where r.tenant_id = n.tenant_id), 90))`;

/**
 * One retention run: per tenant, rendered content, event data and provider texts older than its
 * content retention go; then audit months past every tenant's audit retention are dropped as
 * whole partitions (audit_retention_drop(), which anchors each tenant's chain first). The run
 * itself is audited (counts and partition names only).
 */
export async function applyRetention(db: Db): Promise<RetentionReport> {
  return db.transaction(async (tx) => {
    const rendered = await tx.execute(sql`
      delete from rendered_messages m using notifications n where n.id = m.notification_id and n.created_at < ${contentCutoff}`);
    const data = await tx.execute(sql`
      update notifications n set data = '{}'::jsonb, updated_at = now() where n.data <> '{}'::jsonb and n.created_at < ${contentCutoff}`);
    const attempts = await tx.execute(sql`
      update delivery_attempts a set response = null from notifications n
       where n.id = a.notification_id and a.response is not null and a.finished_at < ${contentCutoff}`);
    const feedback = await tx.execute(sql`
      update feedback_events f set diagnostic = null from notifications n
       where n.id = f.notification_id and f.diagnostic is not null and f.received_at < ${contentCutoff}`);
    const [drop] = await tx.execute<{ dropped: string[] }>(sql`select audit_retention_drop() as dropped`);
    const report: RetentionReport = {
      renderedRemoved: rendered.count,
      dataCleared: data.count,
      responsesCleared: attempts.count + feedback.count,
      auditPartitionsDropped: drop?.dropped ?? [],
    };
    await appendAudit(tx, { tenantId: OPERATOR_TENANT, step: 'retention.applied', detail: { ...report } });
    return report;
  });
}
