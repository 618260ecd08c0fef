import { createHash } from 'node:crypto';
import { and, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { digestItems, digests, notifications, notificationTypes } from '../../db/schema.js';
import { DEFAULT_USER_DIGEST, type DigestSpec } from '../../lib/digest-spec.js';
import { writeSteps } from '../notifications/audit-steps.js';

export type { DigestSpec };

// A digest's items in Postgres: routed there when accepted, claimed once when the window closes
// (UPDATE ... WHERE digest_id IS NULL: an item is in exactly one digest), cancelled or erased while
// they wait. The digest workflow (workflows/digest.ts) sees only ids and counts.

type Tx = Pick<Db, 'execute' | 'select' | 'insert' | 'update' | 'delete'>;

/** What starting (or feeding) a digest workflow needs; ids only, no event data. */
export interface DigestInput {
  tenantId: string;
  /** The app's user id, for search attributes; `userRef` is the row id. */
  userId: string;
  userRef: string;
  type: string;
  category: string;
  spec: DigestSpec;
  /** Items signalled to an earlier run whose rows had not committed when it closed. */
  carried?: string[];
}

/** The digest workflow of one (tenant, user, type, key): the key's value is hashed, data stays out of ids. */
export function digestWorkflowId(tenantId: string, userId: string, type: string, keyValue: unknown): string {
  const key = keyValue === undefined || keyValue === null ? '-' : createHash('sha256').update(String(keyValue)).digest('hex').slice(0, 16);
  return `digest:${tenantId}:${userId}:${type}:${key}`;
}

/** Which digest an accepted notification joins, or none: mandatory categories, sendAt and "each time" bypass. */
export function digestFor(
  spec: DigestSpec | null | undefined,
  n: { mandatory: boolean; sendAt?: string; frequency: 'each' | 'digest' | null },
): DigestSpec | undefined {
  if (n.mandatory || n.sendAt || n.frequency === 'each') return undefined;
  return spec ?? (n.frequency === 'digest' ? DEFAULT_USER_DIGEST : undefined);
}

export interface Routable {
  id: string;
  inserted: boolean;
  status: string;
  userId: string;
  type: string;
  category: string;
  mandatory: boolean;
  sendAt?: string;
}

/**
 * In the accept transaction: new notifications whose type (or user) asks for a digest are stored
 * as digest items and shown 'batched' (their 'digest.batched' audit step follows
 * 'notification.accepted', see accept.ts auditAccepted); replays of batched ones get their digest back (a retry
 * re-signals it, which heals a signal lost to a crash). Returns the digest per notification id.
 */
export async function routeToDigests(
  db: Tx,
  tenantId: string,
  recorded: readonly Routable[],
): Promise<Map<string, { workflowId: string; input: DigestInput }>> {
  const out = new Map<string, { workflowId: string; input: DigestInput }>();
  const candidates = recorded.filter((n) => (n.inserted && !n.mandatory && !n.sendAt) || (!n.inserted && n.status === 'batched'));
  if (!candidates.length) return out;
  const ids = candidates.map((n) => n.id);
  const rows = await db.execute<{
    id: string;
    user_id: string;
    data: Record<string, unknown>;
    frequency: 'each' | 'digest' | null;
    spec: DigestSpec | null;
    item_workflow: string | null;
  }>(sql`
    select n.id, n.user_id, n.data, p.frequency, t.digest as spec, i.workflow_id as item_workflow
    from notifications n
    left join preferences p on p.user_id = n.user_id and p.category_key = n.category_key
    left join notification_types t on t.tenant_id = n.tenant_id and t.key = n.type
    left join digest_items i on i.notification_id = n.id and i.digest_id is null
    where n.tenant_id = ${tenantId} and n.id in (select unnest(string_to_array(${ids.join(',')}, ','))::uuid)`);
  const fresh: { notificationId: string; tenantId: string; userId: string; workflowId: string }[] = [];
  for (const row of rows) {
    const n = candidates.find((c) => c.id === row.id)!;
    const spec = digestFor(row.spec, { mandatory: n.mandatory, frequency: row.frequency });
    if (!spec) continue;
    if (!n.inserted && !row.item_workflow) continue; // already went out (or cancelled)
    const workflowId = row.item_workflow ?? digestWorkflowId(tenantId, n.userId, n.type, spec.key ? row.data[spec.key] : undefined);
    out.set(n.id, { workflowId, input: { tenantId, userId: n.userId, userRef: row.user_id, type: n.type, category: n.category, spec } });
    if (n.inserted) fresh.push({ notificationId: n.id, tenantId, userId: row.user_id, workflowId });
  }
  if (fresh.length) {
    await db.insert(digestItems).values(fresh);
    for (const f of fresh) {
      await db.update(notifications).set({ status: 'batched', workflowId: f.workflowId }).where(eq(notifications.id, f.notificationId));
    }
  }
  return out;
}

/** A closed window: the digest notification and the items it took (ids only). */
export interface ClosedDigest {
  digestId: string | null;
  itemCount: number;
  /** Ids it holds, for the workflow to see which signalled items it missed. */
  claimed: string[];
}

/**
 * Closes a window: claims every waiting item of the digest workflow and records the digest
 * notification that will send them, in one transaction. Idempotent per `closeKey` (the run id):
 * a retry after a crash finds the digest it made and claims nothing more.
 */
export async function closeDigest(
  db: Db,
  input: DigestInput & { closeKey: string; workflowId: string },
  notificationWorkflowId: (tenantId: string, id: string) => string,
): Promise<ClosedDigest> {
  const idempotencyKey = `digest:${input.workflowId}:${input.closeKey}`;
  return db.transaction(async (tx) => {
    const [earlier] = await tx
      .select({ id: notifications.id })
      .from(notifications)
      .where(and(eq(notifications.tenantId, input.tenantId), eq(notifications.idempotencyKey, idempotencyKey)));
    if (earlier) {
      const items = await tx.select({ id: digestItems.notificationId }).from(digestItems).where(eq(digestItems.digestId, earlier.id));
      return { digestId: earlier.id, itemCount: items.length, claimed: items.map((i) => i.id) };
    }
    const digestId = crypto.randomUUID();
    const [type] = await tx
      .select({ version: notificationTypes.publishedVersion })
      .from(notificationTypes)
      .where(and(eq(notificationTypes.tenantId, input.tenantId), eq(notificationTypes.key, input.type)));
    // The digest row first: the claim's foreign key points at it.
    await tx.insert(notifications).values({
      id: digestId,
      tenantId: input.tenantId,
      userId: input.userRef,
      type: input.type,
      categoryKey: input.category,
      idempotencyKey,
      requestHash: '-',
      workflowId: notificationWorkflowId(input.tenantId, digestId),
      data: {},
      templateVersion: type?.version ?? null,
    });
    const claimed = await tx
      .update(digestItems)
      .set({ digestId })
      .where(and(eq(digestItems.workflowId, input.workflowId), isNull(digestItems.digestId)))
      .returning({ id: digestItems.notificationId });
    if (!claimed.length) {
      // An empty window (items cancelled or erased): nothing to send, no row left behind.
      await tx.delete(notifications).where(eq(notifications.id, digestId));
      return { digestId: null, itemCount: 0, claimed: [] };
    }
    const ids = claimed.map((c) => c.id);
    await tx.insert(digests).values({ id: digestId, tenantId: input.tenantId, workflowId: input.workflowId, itemCount: ids.length });
    await tx.update(notifications).set({ status: 'digested', updatedAt: new Date() }).where(inArray(notifications.id, ids));
    await writeSteps(tx, [
      {
        tenantId: input.tenantId,
        notificationId: digestId,
        step: 'digest.closed',
        detail: { items: ids.length, digestWorkflowId: input.workflowId },
      },
      ...ids.map((id) => ({ tenantId: input.tenantId, notificationId: id, step: 'digest.included' as const, detail: { digestId } })),
    ]);
    return { digestId, itemCount: ids.length, claimed: ids };
  });
}

/**
 * firstImmediately: takes the window's first item out of the digest so it goes on its own.
 * 'missing': its row is not committed yet (the API signals before it commits); 'gone': it was
 * claimed, cancelled or erased meanwhile.
 */
export async function releaseItem(
  db: Db,
  tenantId: string,
  notificationId: string,
  notificationWorkflowId: (tenantId: string, id: string) => string,
): Promise<'released' | 'missing' | 'gone'> {
  return db.transaction(async (tx) => {
    const [n] = await tx.select({ status: notifications.status }).from(notifications).where(eq(notifications.id, notificationId));
    if (!n) return 'missing';
    const taken = await tx
      .delete(digestItems)
      .where(and(eq(digestItems.notificationId, notificationId), isNull(digestItems.digestId)))
      .returning({ id: digestItems.notificationId });
    if (!taken.length) return 'gone';
    await tx
      .update(notifications)
      .set({ status: 'accepted', workflowId: notificationWorkflowId(tenantId, notificationId), updatedAt: new Date() })
      .where(eq(notifications.id, notificationId));
    await writeSteps(tx, [{ tenantId, notificationId, step: 'digest.released', detail: { reason: 'firstImmediately' } }]);
    return 'released';
  });
}

/** Cancels a waiting item: false when its digest already took it. */
export async function cancelItem(db: Db, tenantId: string, notificationId: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const taken = await tx
      .delete(digestItems)
      .where(and(eq(digestItems.notificationId, notificationId), eq(digestItems.tenantId, tenantId), isNull(digestItems.digestId)))
      .returning({ id: digestItems.notificationId });
    if (!taken.length) return false;
    await tx.update(notifications).set({ status: 'cancelled', updatedAt: new Date() }).where(eq(notifications.id, notificationId));
    await writeSteps(tx, [{ tenantId, notificationId, step: 'notification.cancelled', detail: { reason: 'cancelled before its digest' } }]);
    return true;
  });
}

/** The items of a digest, oldest first, with their data: what its template lists. */
export async function digestItemsOf(db: Pick<Db, 'select'>, digestId: string): Promise<{ data: Record<string, unknown>; at: Date }[]> {
  const rows = await db
    .select({ data: notifications.data, at: notifications.createdAt })
    .from(digestItems)
    .innerJoin(notifications, eq(notifications.id, digestItems.notificationId))
    .where(eq(digestItems.digestId, digestId))
    .orderBy(notifications.createdAt, notifications.id);
  return rows.map((r) => ({ data: r.data as Record<string, unknown>, at: r.at }));
}
