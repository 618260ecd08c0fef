import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { z } from 'zod';
import type { Db } from '../db/client.js';
import { auditEvents, categories, notifications, notificationTypes } from '../db/schema.js';
import { canSendFromDomain } from '../domain/sending-domains/service.js';
import { notificationPriority, notificationTaskQueue, type CategoryClass } from '../workflows/queues.js';
import { dataProblems } from '../domain/templates/types.js';
import type { VariableSpec } from '../templates/index.js';
import { notificationWorkflowId } from '../workflows/ids.js';
import { notificationWorkflow } from '../workflows/notification.js';
import { Category, DeliveryStatusAttr, NotificationType, TenantId, UserId } from '../workflows/search-attributes.js';
import type { NotificationInput } from '../workflows/types.js';
import type { AppDeps } from './env.js';
import { ApiProblem, problems } from './problem.js';
import type { NotificationRequest } from './schemas.js';

export interface Triggered {
  id: string;
  status: string;
  workflowId: string;
  /** false when this Idempotency-Key was seen before and nothing new was created. */
  inserted: boolean;
}

/** A request that passed the checks that need no user: its type exists and its data is complete. */
export interface Checked {
  idempotencyKey: string;
  body: z.infer<typeof NotificationRequest>;
  category: string;
  /** The category's class, for the workflow's task queue priority. */
  categoryClass: CategoryClass;
  requestHash: string;
}

/** The notification a request resolved to (new or earlier), with what its workflow start needs. */
export interface Recorded extends Triggered {
  userId: string;
  type: string;
  category: string;
  categoryClass: CategoryClass;
  /** The request's sendAt (ISO), passed to the workflow. */
  sendAt?: string;
  /** The template version a new notification was accepted with (for its audit step). */
  templateVersion?: number | null;
}

/** The handle a trigger records through: a transaction that commits only once the workflows started. */
export type TriggerTx = Pick<Db, 'execute' | 'select' | 'insert' | 'delete'>;

/**
 * Validates one already-parsed notification against the tenant's types and users, records it,
 * starts (or finds) its workflow and appends its first audit step, in one transaction: a workflow
 * that cannot start (Temporal unavailable) answers 503 with nothing written, and the same
 * Idempotency-Key retried later creates it then. The batch trigger goes through the same steps
 * (checkRequest, recordNotifications, startNotification, auditAccepted) for many at once, so both
 * answer the same way; bad input throws an ApiProblem before anything is written.
 */
export async function triggerNotification(
  deps: AppDeps,
  tenantId: string,
  idempotencyKey: string,
  body: z.infer<typeof NotificationRequest>,
): Promise<Triggered> {
  await ensureSendable(deps, tenantId);
  const checked = checkRequest(await tenantTypes(deps, tenantId), idempotencyKey, body);
  return deps.db.transaction(async (tx) => {
    const [recorded] = await recordNotifications(tx, tenantId, [checked]);
    if (recorded instanceof ApiProblem) throw recorded;
    const { id, status, workflowId, inserted } = recorded!;
    // Throws 503 when the start fails: the transaction rolls back, so no row stays behind.
    await startNotification(deps, tenantId, recorded!);
    await auditAccepted(tx, tenantId, [recorded!]);
    return { id, status, workflowId, inserted };
  });
}

/**
 * Mail goes out only from a domain whose DKIM record has verified (an operator may mark a
 * development tenant as sandbox): otherwise 409 before anything is written.
 */
export async function ensureSendable({ db, caches }: AppDeps, tenantId: string): Promise<void> {
  let refusal: string | undefined;
  await caches.sendableByTenant.get(tenantId, async () => {
    const verdict = await canSendFromDomain(db, tenantId);
    if (verdict.ok) return true;
    refusal = verdict.detail;
    return undefined;
  });
  if (refusal) throw problems.conflict(refusal);
}

/** What the accept path needs of a tenant's type: its category and declared variables. */
export interface TypeFacts {
  category: string;
  categoryClass: CategoryClass;
  variables: Record<string, VariableSpec>;
}

/**
 * The tenant's notification types, cached for NOTIFICATION_TYPES_CACHE_TTL_MS (a change through this
 * API process clears it at once). The published version is not cached: the accept statement reads it.
 */
export async function tenantTypes({ db, caches }: AppDeps, tenantId: string): Promise<ReadonlyMap<string, TypeFacts>> {
  const types = await caches.typesByTenant.get(tenantId, async () => {
    const rows = await db
      .select({
        key: notificationTypes.key,
        category: notificationTypes.categoryKey,
        variables: notificationTypes.variables,
        mandatory: categories.mandatory,
        requiresOptIn: categories.requiresOptIn,
      })
      .from(notificationTypes)
      .leftJoin(categories, and(eq(categories.tenantId, notificationTypes.tenantId), eq(categories.key, notificationTypes.categoryKey)))
      .where(eq(notificationTypes.tenantId, tenantId));
    return new Map(
      rows.map((r) => [
        r.key,
        { category: r.category, variables: r.variables, categoryClass: { mandatory: r.mandatory ?? false, requiresOptIn: r.requiresOptIn ?? false } },
      ]),
    );
  });
  return types!;
}

/** The checks that need no round trip: a type of this tenant, and data that carries every variable it declares, of the right type. */
export function checkRequest(types: ReadonlyMap<string, TypeFacts>, idempotencyKey: string, body: z.infer<typeof NotificationRequest>): Checked {
  const type = types.get(body.type);
  if (!type) throw problems.invalid(`Unknown notification type '${body.type}'`, [{ path: 'body.type', message: 'unknown notification type' }]);
  const wrong = dataProblems(type.variables, body.data);
  if (wrong.length) {
    throw problems.invalid(
      `Invalid data for ${body.type}: ${wrong.map((w) => `${w.path.replace('body.data.', '')} ${w.message}`).join('; ')}`,
      wrong,
    );
  }
  return {
    idempotencyKey,
    body,
    category: type.category,
    categoryClass: type.categoryClass,
    requestHash: createHash('sha256').update(canonicalJson(body)).digest('hex'),
  };
}

interface RecordRow extends Record<string, unknown> {
  ord: number;
  user_known: boolean;
  template_version: number | null;
  inserted: boolean;
  inserted_status: string | null;
  earlier_id: string | null;
  earlier_status: string | null;
  earlier_workflow_id: string | null;
  earlier_request_hash: string | null;
  earlier_type: string | null;
  earlier_category: string | null;
}

/**
 * Records checked requests in ONE statement, in the caller's transaction: resolves each user,
 * inserts the notifications whose user exists (the unique (tenant, Idempotency-Key) index decides
 * which of concurrent requests creates one; a second waits until the first commits or rolls back),
 * and returns the notification an already-used key points to. The audit step follows once the
 * workflow started (auditAccepted): the tenant's audit chain is locked only from there to commit.
 * Requests must carry distinct keys (the batch sends repeats in a later call).
 * Returns, per request in order, the notification or the problem to answer with (nothing written).
 */
export async function recordNotifications(db: TriggerTx, tenantId: string, checked: readonly Checked[]): Promise<(Recorded | ApiProblem)[]> {
  const input = checked.map((c, ord) => {
    const id = crypto.randomUUID();
    return {
      ord,
      id,
      workflow_id: notificationWorkflowId(tenantId, id),
      user_external_id: c.body.userId,
      type: c.body.type,
      category: c.category,
      idempotency_key: c.idempotencyKey,
      request_hash: c.requestHash,
      data: c.body.data,
      send_at: c.body.sendAt ?? null,
    };
  });
  // Passed as one text parameter: drizzle would expand a JS array into a parameter list.
  const rows = await db.execute<RecordRow>(sql`
    with input as (
      select * from jsonb_to_recordset(${JSON.stringify(input)}::text::jsonb) as i(
        ord int, id uuid, workflow_id text, user_external_id text, type text, category text,
        idempotency_key text, request_hash text, data jsonb, send_at timestamptz)
    ), known as (
      -- The published version is read here, not from a cache: a publish counts from the next request on.
      select input.*, users.id as user_id, nt.published_version as template_version
      from input join users on users.tenant_id = ${tenantId} and users.external_id = input.user_external_id
      left join notification_types nt on nt.tenant_id = ${tenantId} and nt.key = input.type
    ), inserted as (
      insert into notifications (id, tenant_id, user_id, type, category_key, idempotency_key, request_hash, workflow_id, data, template_version, status)
      select id, ${tenantId}::text, user_id, type, category, idempotency_key, request_hash, workflow_id, data, template_version,
             case when send_at > now() then 'scheduled' else 'accepted' end from known
      where template_version is not null
      on conflict (tenant_id, idempotency_key) do nothing
      returning id, status
    ), scheduled as (
      insert into notification_schedules (notification_id, send_at, reason)
      select known.id, known.send_at, 'send-at' from known join inserted on inserted.id = known.id where inserted.status = 'scheduled'
    )
    -- "earlier" sees the table as it was when the statement began: a row this statement inserted
    -- is not in it, a row another request committed before is.
    select input.ord, known.user_id is not null as user_known, known.template_version, inserted.id is not null as inserted, inserted.status as inserted_status,
           earlier.id as earlier_id, earlier.status as earlier_status, earlier.workflow_id as earlier_workflow_id,
           earlier.request_hash as earlier_request_hash, earlier.type as earlier_type, earlier.category_key as earlier_category
    from input
    left join known on known.ord = input.ord
    left join inserted on inserted.id = input.id
    left join notifications earlier on earlier.tenant_id = ${tenantId} and earlier.idempotency_key = input.idempotency_key
  `);

  const results: (Recorded | ApiProblem | undefined)[] = new Array(checked.length);
  const inFlight: number[] = [];
  for (const row of rows) {
    const c = checked[row.ord]!;
    const fresh = input[row.ord]!;
    if (!row.user_known) {
      results[row.ord] = problems.invalid(`User '${c.body.userId}' does not exist`, [{ path: 'body.userId', message: 'unknown user' }]);
    } else if (row.inserted) {
      results[row.ord] = {
        id: fresh.id,
        status: row.inserted_status ?? 'accepted',
        workflowId: fresh.workflow_id,
        inserted: true,
        userId: c.body.userId,
        type: c.body.type,
        category: c.category,
        categoryClass: c.categoryClass,
        sendAt: c.body.sendAt,
        templateVersion: row.template_version,
      };
    } else if (row.earlier_id) {
      results[row.ord] = replay(c, {
        id: row.earlier_id,
        status: row.earlier_status!,
        workflowId: row.earlier_workflow_id!,
        requestHash: row.earlier_request_hash!,
        type: row.earlier_type!,
        categoryKey: row.earlier_category!,
      });
    } else if (row.template_version === null) {
      results[row.ord] = problems.invalid(
        `Notification type '${c.body.type}' has no published version yet (POST /v1/notification-types/${c.body.type}/versions/{n}/publish)`,
        [{ path: 'body.type', message: 'no published version' }],
      );
    } else {
      inFlight.push(row.ord);
    }
  }
  // The key's row was committed by a concurrent request after this statement began: read it now.
  if (inFlight.length) {
    const earlier = await db
      .select()
      .from(notifications)
      .where(
        and(
          eq(notifications.tenantId, tenantId),
          inArray(
            notifications.idempotencyKey,
            inFlight.map((i) => checked[i]!.idempotencyKey),
          ),
        ),
      );
    for (const ord of inFlight) {
      const row = earlier.find((e) => e.idempotencyKey === checked[ord]!.idempotencyKey);
      results[ord] = row
        ? replay(checked[ord]!, row)
        : problems.conflict('The Idempotency-Key is being used by a request that is still in progress; retry');
    }
  }
  return results as (Recorded | ApiProblem)[];
}

/** The 'notification.accepted' audit step of each notification this request created (replays add none). */
export async function auditAccepted(db: TriggerTx, tenantId: string, recorded: readonly Recorded[]): Promise<void> {
  const fresh = recorded.filter((n) => n.inserted);
  if (fresh.length === 0) return;
  await db.insert(auditEvents).values(
    fresh.map((n) => ({
      tenantId,
      notificationId: n.id,
      step: 'notification.accepted',
      detail: { type: n.type, userId: n.userId, category: n.category, templateVersion: n.templateVersion ?? null },
    })),
  );
}

function replay(
  c: Checked,
  row: { id: string; status: string; workflowId: string; requestHash: string; type: string; categoryKey: string },
): Recorded | ApiProblem {
  if (row.requestHash !== c.requestHash) {
    return problems.invalid('This Idempotency-Key was already used with a different request', [
      { path: 'header.Idempotency-Key', message: 'reused with another payload' },
    ]);
  }
  return {
    id: row.id,
    status: row.status,
    workflowId: row.workflowId,
    inserted: false,
    userId: c.body.userId,
    type: row.type,
    category: row.categoryKey,
    categoryClass: c.categoryClass,
    sendAt: c.body.sendAt,
  };
}

/** A start that takes longer than this counts as failed (Temporal unreachable): the caller rolls back and answers 503. */
const START_DEADLINE_MS = 5_000;

/**
 * Starts (or finds) the notification's workflow, on every call: a retry after a failed start
 * heals it, and Temporal's own id rules make sure one notification never runs twice. Called
 * before the row commits: a workflow whose row never commits (the commit failed) finds no
 * notification and ends without sending (prepareDelivery).
 */
export async function startNotification({ temporal, taskQueue }: AppDeps, tenantId: string, n: Recorded): Promise<void> {
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
        // Mandatory alerts first, then round-robin across tenants (workflows/queues.ts).
        priority: notificationPriority(tenantId, n.categoryClass),
        typedSearchAttributes: [
          { key: TenantId, value: tenantId },
          { key: UserId, value: n.userId },
          { key: NotificationType, value: n.type },
          { key: Category, value: n.category },
          { key: DeliveryStatusAttr, value: n.status === 'scheduled' ? 'scheduled' : 'accepted' },
        ],
      }),
    );
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) {
      throw problems.unavailable('The workflow engine is not reachable right now; nothing was recorded. Retry with the same Idempotency-Key');
    }
  }
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
