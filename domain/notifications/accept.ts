import { createHash } from 'node:crypto';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { categories, notifications, notificationTypes } from '../../db/schema.js';
import type { TtlCache } from '../../lib/ttl-cache.js';
import type { VariableSpec } from '../../templates/index.js';
import { routeToDigests, type DigestInput } from '../digests/items.js';
import { canSendFromDomain } from '../sending-domains/service.js';
import { dataProblems } from '../templates/types.js';
import { writeSteps } from './audit-steps.js';

// Accepting a notification: validated against its type, recorded once per Idempotency-Key, its
// workflow started, and its first audit step, all in one transaction that commits only once the
// workflow started. api/trigger.ts and api/trigger-batch.ts are the HTTP around it; starting the
// workflow is the API's edge with Temporal, passed in as `start`.

/** What a notification's priority depends on: its category (workflows/queues.ts turns it into a task queue and a priority). */
export interface CategoryClass {
  mandatory: boolean;
  requiresOptIn: boolean;
}

/** What a request asks for (api/schemas.ts NotificationRequest, parsed). */
export interface NotificationRequest {
  userId: string;
  type: string;
  data: Record<string, unknown>;
  sendAt?: string;
}

/** Why a notification was not accepted; the API answers it as a problem (422, 409 or 503). */
export class NotAccepted extends Error {
  constructor(
    readonly kind: 'invalid' | 'conflict' | 'unavailable',
    readonly detail: string,
    readonly errors?: { path: string; message: string }[],
  ) {
    super(detail);
    this.name = 'NotAccepted';
  }
}

const invalid = (detail: string, errors: { path: string; message: string }[]) => new NotAccepted('invalid', detail, errors);

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
  body: NotificationRequest;
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
  /** Set when it waits in a digest: the digest workflow to signal (with start) instead of its own. */
  digest?: { workflowId: string; input: DigestInput };
}

/** The handle a trigger records through: a transaction that commits only once the workflows started. */
export type TriggerTx = Pick<Db, 'execute' | 'select' | 'insert' | 'update' | 'delete'>;

/** What the accept path needs of a tenant's type: its category and declared variables. */
export interface TypeFacts {
  category: string;
  categoryClass: CategoryClass;
  variables: Record<string, VariableSpec>;
}

export interface AcceptDeps {
  db: Db;
  caches: {
    /** tenant id -> notification type key -> category and variables. */
    typesByTenant: TtlCache<string, ReadonlyMap<string, TypeFacts>>;
    /** tenant id -> true when it may trigger e-mail (a DKIM-verified domain or sandbox). */
    sendableByTenant: TtlCache<string, true>;
  };
  /**
   * Starts (or finds) the notification's workflow (the API's edge with Temporal); throws when it
   * cannot. Called on every accept, also for a replay: a retry after a failed start heals it, and
   * Temporal's own id rules make sure one notification never runs twice.
   */
  start: (tenantId: string, n: Recorded) => Promise<void>;
  /** The workflow id of a notification (workflows/ids.ts), recorded on its row. */
  workflowId: (tenantId: string, notificationId: string) => string;
}

/** Workflow starts in flight at once in a batch: enough to overlap Temporal round trips. */
const CONCURRENCY = 8;

/**
 * Validates one notification against the tenant's types and users, records it, starts (or finds)
 * its workflow and appends its first audit step, in one transaction: a workflow that cannot start
 * (Temporal unavailable) is 'unavailable' with nothing written, and the same Idempotency-Key
 * retried later creates it then. Bad input throws NotAccepted before anything is written.
 */
export async function acceptNotification(deps: AcceptDeps, tenantId: string, idempotencyKey: string, body: NotificationRequest): Promise<Triggered> {
  await ensureSendable(deps, tenantId);
  const checked = checkRequest(await tenantTypes(deps, tenantId), idempotencyKey, body);
  return deps.db.transaction(async (tx) => {
    const [recorded] = await recordNotifications({ db: tx, workflowId: deps.workflowId }, tenantId, [checked]);
    if (recorded instanceof NotAccepted) throw recorded;
    await intoDigests(tx, tenantId, [recorded!]);
    const { id, status, workflowId, inserted } = recorded!;
    // Throws 'unavailable' when the start fails: the transaction rolls back, so no row stays behind.
    await startOrRefuse(deps, tenantId, recorded!);
    await auditAccepted(tx, tenantId, [recorded!]);
    return { id, status, workflowId, inserted };
  });
}

/** One item of a batch's answer: accepted (new or a replay) or why not. */
export type BatchOutcome = { index: number; id: string; workflowId: string; replayed: boolean } | { index: number; refused: NotAccepted };

/**
 * Many notifications through the same steps as acceptNotification, with the tenant's types read
 * once and the items recorded in one statement; a bad item gets its own refusal and nothing is
 * written for it, while the others are accepted. Items that share a key are recorded one after
 * the other, so the second is a replay (or invalid if its payload differs). A workflow that cannot
 * start fails the whole call ('unavailable') and nothing is written: the caller retries the batch
 * as is. (Workflows that did start find no row and end without sending.)
 */
export async function acceptBatch(
  deps: AcceptDeps,
  tenantId: string,
  items: readonly { index: number; idempotencyKey: string; body: NotificationRequest }[],
): Promise<BatchOutcome[]> {
  const outcomes: BatchOutcome[] = [];
  // The checks that need no round trip. The n-th use of a key goes into the n-th round, so a
  // repeated key is recorded after the earlier item's row is committed and resolves against it.
  await ensureSendable(deps, tenantId);
  const types = await tenantTypes(deps, tenantId);
  const rounds: { index: number; checked: Checked }[][] = [];
  const uses = new Map<string, number>();
  for (const { index, idempotencyKey, body } of items) {
    try {
      const checked = checkRequest(types, idempotencyKey, body);
      const round = uses.get(idempotencyKey) ?? 0;
      uses.set(idempotencyKey, round + 1);
      (rounds[round] ??= []).push({ index, checked });
    } catch (err) {
      if (!(err instanceof NotAccepted)) throw err;
      outcomes.push({ index, refused: err });
    }
  }

  // One transaction: the rows, the workflow starts, then the audit steps.
  await deps.db.transaction(async (tx) => {
    // One statement per round (almost always one in all).
    const recorded: { index: number; n: Recorded }[] = [];
    for (const round of rounds) {
      const results = await recordNotifications(
        { db: tx, workflowId: deps.workflowId },
        tenantId,
        round.map((r) => r.checked),
      );
      round.forEach(({ index }, i) => {
        const result = results[i]!;
        if (result instanceof NotAccepted) outcomes.push({ index, refused: result });
        else recorded.push({ index, n: result });
      });
    }
    await intoDigests(
      tx,
      tenantId,
      recorded.map((r) => r.n),
    );

    // Workflow starts, a few at a time; items that resolved to the same notification share one start.
    const starts = new Map<string, Promise<void>>();
    let next = 0;
    let failed = false;
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, recorded.length) }, async () => {
        while (next < recorded.length && !failed) {
          const { index, n } = recorded[next++]!;
          // Items of one digest share its workflow id but each needs its own signal.
          const key = n.digest ? n.id : n.workflowId;
          let start = starts.get(key);
          if (!start) starts.set(key, (start = startOrRefuse(deps, tenantId, n)));
          // The first failure stops the other lanes: the call will answer 'unavailable' and roll back.
          await start.catch((err: unknown) => {
            failed = true;
            throw err;
          });
          outcomes.push({ index, id: n.id, workflowId: n.workflowId, replayed: !n.inserted });
        }
      }),
    );
    await auditAccepted(
      tx,
      tenantId,
      recorded.map((r) => r.n),
    );
  });
  return outcomes;
}

/**
 * Mail goes out only from a domain whose DKIM record has verified (an operator may mark a
 * development tenant as sandbox): otherwise a conflict before anything is written.
 */
export async function ensureSendable({ db, caches }: Pick<AcceptDeps, 'db' | 'caches'>, tenantId: string): Promise<void> {
  let refusal: string | undefined;
  await caches.sendableByTenant.get(tenantId, async () => {
    const verdict = await canSendFromDomain(db, tenantId);
    if (verdict.ok) return true;
    refusal = verdict.detail;
    return undefined;
  });
  if (refusal) throw new NotAccepted('conflict', refusal);
}

/**
 * The tenant's notification types, cached for NOTIFICATION_TYPES_CACHE_TTL_MS (a change through this
 * API process clears it at once). The published version is not cached: the accept statement reads it.
 */
export async function tenantTypes({ db, caches }: Pick<AcceptDeps, 'db' | 'caches'>, tenantId: string): Promise<ReadonlyMap<string, TypeFacts>> {
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
export function checkRequest(types: ReadonlyMap<string, TypeFacts>, idempotencyKey: string, body: NotificationRequest): Checked {
  const type = types.get(body.type);
  if (!type) throw invalid(`Unknown notification type '${body.type}'`, [{ path: 'body.type', message: 'unknown notification type' }]);
  const wrong = dataProblems(type.variables, body.data);
  if (wrong.length) {
    throw invalid(`Invalid data for ${body.type}: ${wrong.map((w) => `${w.path.replace('body.data.', '')} ${w.message}`).join('; ')}`, wrong);
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
export async function recordNotifications(
  { db, workflowId }: { db: TriggerTx; workflowId: AcceptDeps['workflowId'] },
  tenantId: string,
  checked: readonly Checked[],
): Promise<(Recorded | NotAccepted)[]> {
  const input = checked.map((c, ord) => {
    const id = crypto.randomUUID();
    return {
      ord,
      id,
      workflow_id: workflowId(tenantId, id),
      user_external_id: c.body.userId,
      type: c.body.type,
      category: c.category,
      idempotency_key: c.idempotencyKey,
      request_hash: c.requestHash,
      data: c.body.data,
      send_at: utc(c.body.sendAt) ?? null,
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

  const results: (Recorded | NotAccepted | undefined)[] = new Array(checked.length);
  const inFlight: number[] = [];
  for (const row of rows) {
    const c = checked[row.ord]!;
    const fresh = input[row.ord]!;
    if (!row.user_known) {
      results[row.ord] = invalid(`User '${c.body.userId}' does not exist`, [{ path: 'body.userId', message: 'unknown user' }]);
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
        sendAt: utc(c.body.sendAt),
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
      results[row.ord] = invalid(
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
        : new NotAccepted('conflict', 'The Idempotency-Key is being used by a request that is still in progress; retry');
    }
  }
  return results as (Recorded | NotAccepted)[];
}

/** Notifications whose type or user asks for a digest wait in one (domain/digests/items.ts): their start becomes a signal. */
async function intoDigests(tx: TriggerTx, tenantId: string, recorded: Recorded[]): Promise<void> {
  const routed = await routeToDigests(
    tx,
    tenantId,
    recorded.map((n) => ({ ...n, mandatory: n.categoryClass.mandatory })),
  );
  for (const n of recorded) {
    const digest = routed.get(n.id);
    if (!digest) continue;
    n.digest = digest;
    n.workflowId = digest.workflowId;
    if (n.inserted) n.status = 'batched';
  }
}

/** The 'notification.accepted' audit step of each notification this request created (replays add none). */
export async function auditAccepted(db: TriggerTx, tenantId: string, recorded: readonly Recorded[]): Promise<void> {
  const fresh = recorded.filter((n) => n.inserted);
  if (fresh.length === 0) return;
  await writeSteps(
    db,
    fresh.flatMap((n) => [
      {
        tenantId,
        notificationId: n.id,
        step: 'notification.accepted' as const,
        detail: { type: n.type, userId: n.userId, category: n.category, templateVersion: n.templateVersion ?? null },
      },
      ...(n.digest ? [{ tenantId, notificationId: n.id, step: 'digest.batched' as const, detail: { digestWorkflowId: n.digest.workflowId } }] : []),
    ]),
  );
}

function replay(
  c: Checked,
  row: { id: string; status: string; workflowId: string; requestHash: string; type: string; categoryKey: string },
): Recorded | NotAccepted {
  if (row.requestHash !== c.requestHash) {
    return invalid('This Idempotency-Key was already used with a different request', [
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
    sendAt: utc(c.body.sendAt),
  };
}

/** The start, with a failure that is not "already started" answered as 'unavailable' (nothing recorded). */
async function startOrRefuse({ start }: AcceptDeps, tenantId: string, n: Recorded): Promise<void> {
  try {
    await start(tenantId, n);
  } catch {
    throw new NotAccepted('unavailable', 'The workflow engine is not reachable right now; nothing was recorded. Retry with the same Idempotency-Key');
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

/** sendAt in UTC: ISO 8601 allows offsets up to ±23:59, PostgreSQL's timestamptz only ±15:59. */
function utc(sendAt: string | undefined): string | undefined {
  return sendAt === undefined ? undefined : new Date(sendAt).toISOString();
}
