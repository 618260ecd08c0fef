import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { and, asc, eq } from 'drizzle-orm';
import { Hono } from 'hono';
import type { z } from 'zod';
import { appendAudit } from '../activities/audit.js';
import { auditEvents, deliveryAttempts, notifications, notificationTypes, users } from '../db/schema.js';
import { notificationTypes as templateCatalogue } from '../templates/index.js';
import { notificationWorkflowId } from '../workflows/ids.js';
import { cancelUpdate, notificationWorkflow } from '../workflows/notification.js';
import { Category, DeliveryStatusAttr, NotificationType, TenantId, UserId } from '../workflows/search-attributes.js';
import type { NotificationInput } from '../workflows/types.js';
import type { ApiDeps, ApiEnv } from './env.js';
import { problems } from './problem.js';
import { IdempotencyKey, NotificationRequest } from './schemas.js';
import type { AuditView, NotificationView } from './schemas.js';
import { jsonBody, parseWith } from './validate.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Triggering notifications and reading their status and audit trail. */
export function notificationsApi({ db, temporal, taskQueue }: ApiDeps) {
  const app = new Hono<ApiEnv>();

  app.post('/', async (c) => {
    const tenantId = c.var.tenantId;
    const idempotencyKey = parseWith(IdempotencyKey, c.req.header('idempotency-key'), 'header.Idempotency-Key');
    const body = await jsonBody(c, NotificationRequest);

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

    const requestHash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
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
    c.header('Location', `/v1/notifications/${row.id}`);
    if (!inserted) c.header('Idempotent-Replayed', 'true');
    return c.json({ id: row.id, status: row.status, workflowId: row.workflowId, replayed: !inserted }, 202);
  });

  const findNotification = async (tenantId: string, id: string) => {
    if (!uuidPattern.test(id)) throw problems.notFound(`Notification '${id}' does not exist`);
    const [row] = await db
      .select({ n: notifications, userId: users.externalId })
      .from(notifications)
      .innerJoin(users, eq(users.id, notifications.userId))
      .where(and(eq(notifications.tenantId, tenantId), eq(notifications.id, id)));
    if (!row) throw problems.notFound(`Notification '${id}' does not exist`);
    return row;
  };

  app.get('/:id', async (c) => {
    const { n, userId } = await findNotification(c.var.tenantId, c.req.param('id'));
    const attempts = await db.select().from(deliveryAttempts).where(eq(deliveryAttempts.notificationId, n.id)).orderBy(asc(deliveryAttempts.startedAt));
    const view: z.infer<typeof NotificationView> = {
      id: n.id,
      userId,
      type: n.type,
      category: n.categoryKey,
      status: n.status,
      channels: n.channels,
      deliveredChannels: n.deliveredChannels,
      error: n.error,
      workflowId: n.workflowId,
      createdAt: n.createdAt.toISOString(),
      updatedAt: n.updatedAt.toISOString(),
      attempts: attempts.map((a) => ({
        channel: a.channel,
        attempt: a.attempt,
        outcome: a.outcome,
        sourceIp: a.sourceIp,
        poolId: a.poolId,
        target: a.target,
        provider: a.provider,
        responseCode: a.responseCode,
        response: a.response,
        at: a.finishedAt.toISOString(),
      })),
    };
    return c.json(view);
  });

  app.get('/:id/audit', async (c) => {
    const { n } = await findNotification(c.var.tenantId, c.req.param('id'));
    const events = await db.select().from(auditEvents).where(eq(auditEvents.notificationId, n.id)).orderBy(asc(auditEvents.id));
    const view: z.infer<typeof AuditView> = {
      notificationId: n.id,
      events: events.map((e) => ({ at: e.at.toISOString(), step: e.step, detail: e.detail as Record<string, unknown> })),
    };
    return c.json(view);
  });

  app.post('/:id/cancel', async (c) => {
    const tenantId = c.var.tenantId;
    const { n } = await findNotification(tenantId, c.req.param('id'));
    if (n.status !== 'accepted' && n.status !== 'running') throw problems.conflict(`The notification is already ${n.status}`);
    await appendAudit(db, { tenantId, notificationId: n.id, step: 'cancel.requested' });
    try {
      const result = await temporal.workflow.getHandle(n.workflowId).executeUpdate(cancelUpdate);
      if (!result.cancelled) throw problems.conflict(`The notification could not be cancelled: it is ${result.status}`);
      return c.json({ id: n.id, cancelled: true, status: result.status });
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) {
        throw problems.conflict(`The notification can no longer be cancelled (${err.cause instanceof Error ? err.cause.message : err.message})`);
      }
      throw err;
    }
  });

  return app;
}
