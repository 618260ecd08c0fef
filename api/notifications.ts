import { cancelItem } from '../domain/digests/items.js';
import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { createRoute, z } from '@hono/zod-openapi';
import { and, asc, eq, gte } from 'drizzle-orm';
import { appendAudit } from '../domain/audit/append.js';
import { auditEvents, deliveryAttempts, feedbackEvents, notificationSchedules, notifications, users } from '../db/schema.js';
import { cancelUpdate } from '../workflows/notification.js';
import type { ApiEnv, AppDeps } from './env.js';
import { BODY_PROBLEMS, documented, jsonBody, jsonResponse, problemResponses, router, TENANT_PROBLEMS } from './contract.js';
import { listTenantNotifications, NotificationList, NotificationListQuery } from './notification-list.js';
import { problems } from './problem.js';
import {
  AuditView,
  BatchRequest,
  BatchResponse,
  CancelView,
  IdempotencyKey,
  MAX_BATCH_ITEMS,
  NotificationAccepted,
  NotificationRequest,
  NotificationView,
} from './schemas.js';
import { chargeNotifications } from './rate-limit.js';
import { triggerBatch } from './trigger-batch.js';
import { triggerNotification } from './trigger.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Attempts and audit events are partitioned by month of their own time, which is never before the
 * notification's creation: bounding by it lets Postgres skip older months. A day of margin covers
 * a server clock stepped back.
 */
const writtenSince = (n: { createdAt: Date }) => new Date(n.createdAt.getTime() - 86_400_000);

/** Any id is looked up: one that is not a notification of the tenant's is not found. */
const notificationId = z.object({ id: z.string().describe('The notification id (a UUID) the trigger returned') });

const trigger = createRoute({
  method: 'post',
  path: '/',
  summary: 'Trigger a notification',
  request: { headers: z.object({ 'Idempotency-Key': IdempotencyKey }), body: jsonBody(NotificationRequest) },
  responses: {
    202: {
      ...jsonResponse(NotificationAccepted, 'Accepted (or replayed for a known Idempotency-Key)'),
      headers: z.object({ Location: z.string(), 'Idempotent-Replayed': z.literal('true').optional() }),
    },
    ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 409, 503),
  },
});
const batch = createRoute({
  method: 'post',
  path: '/batch',
  summary: `Trigger up to ${MAX_BATCH_ITEMS} notifications, each with its own idempotency key and result`,
  description: `Each item is validated on its own: a bad item gets its 4xx problem in the results and nothing is written for it. More than ${MAX_BATCH_ITEMS} items: 413.`,
  // The envelope is checked by the router; the items one by one by the handler (documented in full here).
  request: {
    body: jsonBody(
      documented(BatchRequest, {
        notifications: {
          type: 'array',
          minItems: 1,
          maxItems: MAX_BATCH_ITEMS,
          // Any item is taken: each is checked on its own and refused in `results`, the others go ahead.
          items: {
            description:
              'A POST /v1/notifications body plus its idempotencyKey (1-255 visible ASCII), checked on its own: one that is not valid gets its 422 in results',
          },
        },
      }),
    ),
  },
  responses: {
    202: jsonResponse(BatchResponse, 'Per-item results: 202 with the id, or the 4xx problem'),
    ...problemResponses(...TENANT_PROBLEMS, ...BODY_PROBLEMS, 409, 503),
  },
});
const list = createRoute({
  method: 'get',
  path: '/',
  summary: "The tenant's notifications, newest first: filtered by status, type, category, user, channel and time, paged by cursor",
  request: { query: NotificationListQuery },
  responses: { 200: jsonResponse(NotificationList, 'One page of notifications'), ...problemResponses(...TENANT_PROBLEMS, 422) },
});
const read = createRoute({
  method: 'get',
  path: '/{id}',
  summary: 'Status, channels and delivery attempts',
  request: { params: notificationId },
  responses: { 200: jsonResponse(NotificationView, 'The notification'), ...problemResponses(...TENANT_PROBLEMS, 404) },
});
const audit = createRoute({
  method: 'get',
  path: '/{id}/audit',
  summary: 'Audit trail, oldest first',
  request: { params: notificationId },
  responses: { 200: jsonResponse(AuditView, 'The audit trail'), ...problemResponses(...TENANT_PROBLEMS, 404) },
});
const cancel = createRoute({
  method: 'post',
  path: '/{id}/cancel',
  summary: 'Cancel before anything was sent',
  request: { params: notificationId },
  responses: { 200: jsonResponse(CancelView, 'Cancelled'), ...problemResponses(...TENANT_PROBLEMS, 404, 409, 413) },
});

/** Triggering notifications and reading their status and audit trail. */
export function notificationsApi(deps: AppDeps) {
  const { db, temporal } = deps;
  const app = router<ApiEnv>();

  app.openapi(trigger, async (c) => {
    const idempotencyKey = c.req.valid('header')['Idempotency-Key'];
    await chargeNotifications(c, db, 1, deps.rateLimits);
    const row = await triggerNotification(deps, c.var.tenantId, idempotencyKey, c.req.valid('json'));
    c.header('Location', `/v1/notifications/${row.id}`);
    if (!row.inserted) c.header('Idempotent-Replayed', 'true');
    return c.json({ id: row.id, status: row.status, workflowId: row.workflowId, replayed: !row.inserted }, 202);
  });

  app.openapi(batch, async (c) => {
    const items = c.req.valid('json').notifications;
    // Each item counts; an oversized batch is refused (413) by triggerBatch without taking any.
    if (items.length <= MAX_BATCH_ITEMS) await chargeNotifications(c, db, items.length, deps.rateLimits);
    return c.json(await triggerBatch(deps, c.var.tenantId, items), 202);
  });

  app.openapi(list, async (c) => c.json(await listTenantNotifications(db, c.var.tenantId, c.req.valid('query')), 200));

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

  app.openapi(read, async (c) => {
    const { n, userId } = await findNotification(c.var.tenantId, c.req.valid('param').id);
    const attempts = await db
      .select()
      .from(deliveryAttempts)
      .where(and(eq(deliveryAttempts.notificationId, n.id), gte(deliveryAttempts.finishedAt, writtenSince(n))))
      .orderBy(asc(deliveryAttempts.startedAt));
    const [schedule] = await db.select().from(notificationSchedules).where(eq(notificationSchedules.notificationId, n.id));
    const feedback = await db.select().from(feedbackEvents).where(eq(feedbackEvents.notificationId, n.id)).orderBy(asc(feedbackEvents.receivedAt));
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
      templateVersion: n.templateVersion,
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
      sendAt: schedule ? schedule.sendAt.toISOString() : null,
      feedback: feedback.map((f) => ({
        kind: f.kind,
        bounceType: f.bounceType,
        class: f.class,
        status: f.status,
        source: f.source,
        at: f.receivedAt.toISOString(),
      })),
    };
    return c.json(view, 200);
  });

  app.openapi(audit, async (c) => {
    const { n } = await findNotification(c.var.tenantId, c.req.valid('param').id);
    const events = await db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.notificationId, n.id), gte(auditEvents.at, writtenSince(n))))
      .orderBy(asc(auditEvents.id));
    const view: z.infer<typeof AuditView> = {
      notificationId: n.id,
      events: events.map((e) => ({ at: e.at.toISOString(), step: e.step, detail: e.detail as Record<string, unknown> })),
    };
    return c.json(view, 200);
  });

  app.openapi(cancel, async (c) => {
    const tenantId = c.var.tenantId;
    const { n } = await findNotification(tenantId, c.req.valid('param').id);
    if (n.status === 'batched') {
      // Waiting in a digest: it leaves the digest, unless the window closed with it meanwhile.
      if (await cancelItem(db, tenantId, n.id)) return c.json({ id: n.id, cancelled: true, status: 'cancelled' as const }, 200);
      throw problems.conflict('The notification already went into its digest');
    }
    if (n.status !== 'accepted' && n.status !== 'running' && n.status !== 'scheduled')
      throw problems.conflict(`The notification is already ${n.status}`);
    await appendAudit(db, { tenantId, notificationId: n.id, step: 'cancel.requested' });
    try {
      const result = await temporal.workflow.getHandle(n.workflowId).executeUpdate(cancelUpdate);
      if (!result.cancelled) throw problems.conflict(`The notification could not be cancelled: it is ${result.status}`);
      return c.json({ id: n.id, cancelled: true, status: result.status }, 200);
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError || err instanceof WorkflowNotFoundError) {
        throw problems.conflict(`The notification can no longer be cancelled (${err.cause instanceof Error ? err.cause.message : err.message})`);
      }
      throw err;
    }
  });

  return app;
}
