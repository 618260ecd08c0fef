import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { and, asc, eq, gte } from 'drizzle-orm';
import { Hono } from 'hono';
import type { z } from 'zod';
import { appendAudit } from '../domain/audit/append.js';
import { auditEvents, deliveryAttempts, notifications, users } from '../db/schema.js';
import { cancelUpdate } from '../workflows/notification.js';
import type { ApiEnv, AppDeps } from './env.js';
import { problems } from './problem.js';
import { IdempotencyKey, NotificationRequest } from './schemas.js';
import type { AuditView, NotificationView } from './schemas.js';
import { triggerBatch } from './trigger-batch.js';
import { triggerNotification } from './trigger.js';
import { jsonBody, parseWith } from './validate.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Attempts and audit events are partitioned by month of their own time, which is never before the
 * notification's creation: bounding by it lets Postgres skip older months. A day of margin covers
 * a server clock stepped back.
 */
const writtenSince = (n: { createdAt: Date }) => new Date(n.createdAt.getTime() - 86_400_000);

/** Triggering notifications and reading their status and audit trail. */
export function notificationsApi(deps: AppDeps) {
  const { db, temporal } = deps;
  const app = new Hono<ApiEnv>();

  app.post('/', async (c) => {
    const idempotencyKey = parseWith(IdempotencyKey, c.req.header('idempotency-key'), 'header.Idempotency-Key');
    const body = await jsonBody(c, NotificationRequest);
    const row = await triggerNotification(deps, c.var.tenantId, idempotencyKey, body);
    c.header('Location', `/v1/notifications/${row.id}`);
    if (!row.inserted) c.header('Idempotent-Replayed', 'true');
    return c.json({ id: row.id, status: row.status, workflowId: row.workflowId, replayed: !row.inserted }, 202);
  });

  app.post('/batch', (c) => triggerBatch(deps, c));

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
    const attempts = await db
      .select()
      .from(deliveryAttempts)
      .where(and(eq(deliveryAttempts.notificationId, n.id), gte(deliveryAttempts.finishedAt, writtenSince(n))))
      .orderBy(asc(deliveryAttempts.startedAt));
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
    const events = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.notificationId, n.id), gte(auditEvents.at, writtenSince(n))))
      .orderBy(asc(auditEvents.id));
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
