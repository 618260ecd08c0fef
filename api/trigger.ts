import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { z } from 'zod';
import { acceptNotification, NotAccepted, type AcceptDeps, type Recorded, type Triggered } from '../domain/notifications/accept.js';
import { notificationWorkflowId } from '../workflows/ids.js';
import { digestItemSignal, digestWorkflow } from '../workflows/digest.js';
import { notificationWorkflow } from '../workflows/notification.js';
import { notificationPriority, notificationTaskQueue } from '../workflows/queues.js';
import { Category, DeliveryStatusAttr, NotificationType, TenantId, UserId } from '../workflows/search-attributes.js';
import { digestDetails, digestSummary, notificationDetails, notificationSummary } from '../workflows/summaries.js';
import type { NotificationInput } from '../workflows/types.js';
import type { AppDeps } from './env.js';
import { problems, type ApiProblem } from './problem.js';
import type { NotificationRequest } from './schemas.js';

/** POST /v1/notifications (declared in api/notifications.ts): domain/notifications/accept.ts, answered over HTTP. */
export async function triggerNotification(
  deps: AppDeps,
  tenantId: string,
  idempotencyKey: string,
  body: z.infer<typeof NotificationRequest>,
): Promise<Triggered> {
  try {
    return await acceptNotification(acceptDeps(deps), tenantId, idempotencyKey, body);
  } catch (err) {
    throw err instanceof NotAccepted ? problemOf(err) : err;
  }
}

/** The accept path's dependencies: the database, the API's caches and the Temporal start. */
export function acceptDeps(deps: AppDeps): AcceptDeps {
  return { db: deps.db, caches: deps.caches, start: (tenantId, n) => startNotification(deps, tenantId, n), workflowId: notificationWorkflowId };
}

/** A refusal as the problem the API answers with: 422, 409 or 503. */
export function problemOf(n: NotAccepted): ApiProblem {
  if (n.kind === 'invalid') return problems.invalid(n.detail, n.errors);
  return n.kind === 'conflict' ? problems.conflict(n.detail) : problems.unavailable(n.detail);
}

/** A start that takes longer than this counts as failed (Temporal unreachable): the caller rolls back and answers 503. */
const START_DEADLINE_MS = 5_000;

/** What the Temporal UI filters on, the same for a notification and for the digest it waits in. */
const searchAttributes = (tenantId: string, n: Recorded, status: string) => [
  { key: TenantId, value: tenantId },
  { key: UserId, value: n.userId },
  { key: NotificationType, value: n.type },
  { key: Category, value: n.category },
  { key: DeliveryStatusAttr, value: status },
];

/**
 * Starts (or finds) the notification's workflow on its task queue, with its priority and search
 * attributes. Called before the row commits: a workflow whose row never commits (the commit
 * failed) finds no notification and ends without sending (prepareDelivery).
 */
async function startNotification({ temporal, taskQueue }: AppDeps, tenantId: string, n: Recorded): Promise<void> {
  if (n.digest) {
    // Waits in a digest: one workflow per (tenant, user, type, key), started by its first item.
    const { workflowId, input } = n.digest;
    await temporal.withDeadline(Date.now() + START_DEADLINE_MS, () =>
      temporal.workflow.signalWithStart(digestWorkflow, {
        taskQueue: notificationTaskQueue(taskQueue, n.categoryClass),
        workflowId,
        args: [input],
        signal: digestItemSignal,
        signalArgs: [n.id],
        staticSummary: digestSummary(input),
        staticDetails: digestDetails(1),
        priority: notificationPriority(tenantId, n.categoryClass),
        typedSearchAttributes: searchAttributes(tenantId, n, 'batching'),
      }),
    );
    return;
  }
  // A replay of an item that already went into (or was cancelled from) its digest: nothing to start.
  if (n.workflowId.startsWith('digest:')) return;
  const input: NotificationInput = {
    version: 1,
    notificationId: n.id,
    tenantId,
    userId: n.userId,
    type: n.type,
    category: n.category,
    ...(n.sendAt ? { sendAt: n.sendAt } : {}),
  };
  try {
    await temporal.withDeadline(Date.now() + START_DEADLINE_MS, () =>
      temporal.workflow.start(notificationWorkflow, {
        taskQueue: notificationTaskQueue(taskQueue, n.categoryClass),
        workflowId: n.workflowId,
        args: [input],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        // What the Temporal UI lists (workflows/summaries.ts): type and category, never the user's data.
        staticSummary: notificationSummary(input),
        staticDetails: notificationDetails(input),
        // Mandatory alerts first, then round-robin across tenants (workflows/queues.ts).
        priority: notificationPriority(tenantId, n.categoryClass),
        typedSearchAttributes: searchAttributes(tenantId, n, n.status === 'scheduled' ? 'scheduled' : 'accepted'),
      }),
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
