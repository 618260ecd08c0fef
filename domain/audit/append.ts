import { auditEvents } from '../../db/schema.js';
import type { Db } from '../../db/client.js';

export interface AuditEntry {
  tenantId: string;
  notificationId?: string | null;
  step: string;
  /** Ids, codes and outcomes only: never an e-mail address or a push token. */
  detail?: Record<string, unknown>;
}

type Writer = Pick<Db, 'insert'>;

/** Appends to the audit trail, inside the caller's transaction when given one. */
export async function appendAudit(db: Writer, ...entries: AuditEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db
    .insert(auditEvents)
    .values(entries.map((e) => ({ tenantId: e.tenantId, notificationId: e.notificationId ?? null, step: e.step, detail: e.detail ?? {} })));
}
