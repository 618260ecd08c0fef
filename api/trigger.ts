import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { and, eq } from 'drizzle-orm';
import type { z } from 'zod';
import { appendAudit } from '../activities/audit.js';
import { notifications, notificationTypes, users } from '../db/schema.js';
import { notificationTypes as templateCatalogue } from '../templates/index.js';
import { notificationWorkflowId } from '../workflows/ids.js';
import { notificationWorkflow } from '../workflows/notification.js';
import { Category, DeliveryStatusAttr, NotificationType, TenantId, UserId } from '../workflows/search-attributes.js';
import type { NotificationInput } from '../workflows/types.js';
import type { ApiDeps } from './env.js';
import { problems } from './problem.js';
import type { NotificationRequest } from './schemas.js';

export interface Triggered {
  id: string;
  status: string;
  workflowId: string;
  /** false when this Idempotency-Key was seen before and nothing new was created. */
  inserted: boolean;
}

/**
 * Validates one already-parsed notification against the tenant's types and users, records it
 * with its first audit step, and starts (or finds) its workflow. Shared by the single and the
 * batch trigger so both answer the same way; bad input throws an ApiProblem before anything is written.
 */
export async function triggerNotification(
  { db, temporal, taskQueue }: ApiDeps,
  tenantId: string,
  idempotencyKey: string,
  body: z.infer<typeof NotificationRequest>,
): Promise<Triggered> {
  const [type] = await db
    .select()
    .from(notificationTypes)
    .where(and(eq(notificationTypes.tenantId, tenantId), eq(notificationTypes.key, body.type)));
  const template = templateCatalogue[body.type];
  if (!type || !template) throw problems.invalid(`Unknown notification type '${body.type}'`, [{ path: 'body.type', message: 'unknown notification type' }]);
  const missing = template.fields.filter((f) => body.data[f] === undefined || body.data[f] === '');
  if (missing.length) {
    throw problems.invalid(
      `Missing data for ${body.type}: ${missing.join(', ')}`,
      missing.map((f) => ({ path: `body.data.${f}`, message: 'required' })),
    );
  }
  const [user] = await db.select({ id: users.id }).from(users).where(and(eq(users.tenantId, tenantId), eq(users.externalId, body.userId)));
  if (!user) throw problems.invalid(`User '${body.userId}' does not exist`, [{ path: 'body.userId', message: 'unknown user' }]);

  const requestHash = createHash('sha256').update(canonicalJson(body)).digest('hex');
  const notificationId = crypto.randomUUID();
  const workflowId = notificationWorkflowId(tenantId, notificationId);
  // The unique (tenant, Idempotency-Key) index decides which of concurrent requests creates the notification.
  const inserted = await db.transaction(async (tx) => {
    const rows = await tx
      .insert(notifications)
      .values({ id: notificationId, tenantId, userId: user.id, type: body.type, categoryKey: type.categoryKey, idempotencyKey, requestHash, workflowId, data: body.data })
      .onConflictDoNothing({ target: [notifications.tenantId, notifications.idempotencyKey] })
      .returning({ id: notifications.id });
    if (rows.length) {
      await appendAudit(tx, { tenantId, notificationId, step: 'notification.accepted', detail: { type: body.type, userId: body.userId, category: type.categoryKey } });
    }
    return rows.length > 0;
  });
  const [row] = inserted
    ? [{ id: notificationId, workflowId, requestHash, status: 'accepted', type: body.type, categoryKey: type.categoryKey }]
    : await db
        .select()
        .from(notifications)
        .where(and(eq(notifications.tenantId, tenantId), eq(notifications.idempotencyKey, idempotencyKey)));
  if (!row) throw problems.conflict('The Idempotency-Key is being used by a request that is still in progress; retry');
  if (row.requestHash !== requestHash) {
    throw problems.invalid('This Idempotency-Key was already used with a different request', [{ path: 'header.Idempotency-Key', message: 'reused with another payload' }]);
  }

  // Start (or find) the workflow on every call: a retry after a failed start heals it, and
  // Temporal's own id rules make sure one notification never runs twice.
  const input: NotificationInput = { version: 1, notificationId: row.id, tenantId, userId: body.userId, type: row.type, category: row.categoryKey };
  try {
    await temporal.workflow.start(notificationWorkflow, {
      taskQueue,
      workflowId: row.workflowId,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      typedSearchAttributes: [
        { key: TenantId, value: tenantId },
        { key: UserId, value: body.userId },
        { key: NotificationType, value: row.type },
        { key: Category, value: row.categoryKey },
        { key: DeliveryStatusAttr, value: 'accepted' },
      ],
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
      throw problems.unavailable('The notification was recorded but could not be started; retry with the same Idempotency-Key');
    }
  }
  return { id: row.id, status: row.status, workflowId: row.workflowId, inserted };
}

/** JSON with object keys sorted, so the same request with its keys in another order hashes the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
