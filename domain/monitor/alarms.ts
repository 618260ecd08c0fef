import { and, desc, eq, isNotNull, isNull } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { alarms } from '../../db/schema.js';

export type Severity = 'warn' | 'alarm';

/**
 * Opens an alarm, or updates the open one of the same kind and scope. Returns the id when the
 * operator must be told (a new alarm, or a warning that became an alarm), else null.
 */
export async function raiseAlarm(
  db: Db,
  a: { kind: string; scope: string; severity: Severity; message: string; detail?: Record<string, unknown> },
): Promise<string | null> {
  return db.transaction(async (tx) => {
    const [open] = await tx
      .select({ id: alarms.id, severity: alarms.severity })
      .from(alarms)
      .where(and(eq(alarms.kind, a.kind), eq(alarms.scope, a.scope), isNull(alarms.resolvedAt)))
      .for('update')
      .limit(1);
    if (!open) {
      const [row] = await tx
        .insert(alarms)
        .values({ ...a, detail: a.detail ?? {} })
        .returning({ id: alarms.id });
      return row!.id;
    }
    const escalated = open.severity === 'warn' && a.severity === 'alarm';
    await tx
      .update(alarms)
      .set({ severity: escalated ? 'alarm' : open.severity, message: a.message, detail: a.detail ?? {}, ...(escalated ? { notifiedAt: null } : {}) })
      .where(eq(alarms.id, open.id));
    return escalated ? open.id : null;
  });
}

/** Closes the open alarm of this kind and scope, if any; true when one was closed. */
export async function resolveAlarm(db: Db, kind: string, scope: string): Promise<boolean> {
  const rows = await db
    .update(alarms)
    .set({ resolvedAt: new Date() })
    .where(and(eq(alarms.kind, kind), eq(alarms.scope, scope), isNull(alarms.resolvedAt)))
    .returning({ id: alarms.id });
  return rows.length > 0;
}

/** Alarms for the operator's list, newest first: open, resolved or both, of one kind or all. */
export async function listAlarms(db: Db, q: { state?: 'open' | 'resolved' | 'all'; kind?: string; limit: number }) {
  const state = q.state === 'open' ? isNull(alarms.resolvedAt) : q.state === 'resolved' ? isNotNull(alarms.resolvedAt) : undefined;
  const rows = await db
    .select()
    .from(alarms)
    .where(and(state, q.kind ? eq(alarms.kind, q.kind) : undefined))
    .orderBy(desc(alarms.raisedAt))
    .limit(q.limit);
  return rows.map((a) => ({
    id: a.id,
    kind: a.kind,
    severity: a.severity,
    scope: a.scope,
    message: a.message,
    detail: a.detail as Record<string, unknown>,
    raisedAt: a.raisedAt.toISOString(),
    resolvedAt: a.resolvedAt?.toISOString() ?? null,
    notifiedAt: a.notifiedAt?.toISOString() ?? null,
    notifyAttempts: a.notifyAttempts,
  }));
}
