import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  ParentClosePolicy,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type LocalActivityOptions,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { DigestInput } from '../domain/digests/items.js';
import { digestDeadline } from './digest-window.js';
import { notificationWorkflowId } from './ids.js';
import { notificationWorkflow } from './notification.js';
import { Category, DeliveryStatusAttr, NotificationType, TenantId, UserId } from './search-attributes.js';
import { digestDetails, notificationDetails, notificationSummary } from './summaries.js';

// One digest per (tenant, user, type, key): the API signals each accepted item's id here with
// signal-with-start; the items themselves wait in Postgres (digest_items). A window closes on a
// durable timer (or early at maxItems), its items are claimed into one digest notification that
// the ordinary notification workflow sends (pool, DKIM, suppression, audit), and the run ends or
// continues as new for the items that arrived meanwhile: one window per run.

/** An accepted notification waits in this digest (its id; its data stays in Postgres). */
export const digestItemSignal = defineSignal<[string]>('digestItem');

export interface DigestProgress {
  pending: number;
  closesAt?: string;
  digests: string[];
}
export const digestStatusQuery = defineQuery<DigestProgress>('digestStatus');

// Short Postgres steps, retried until the database is back; run inside the workflow task.
const DB_LOCAL: LocalActivityOptions = { startToCloseTimeout: '30 seconds', retry: { initialInterval: '500 ms', maximumInterval: '30 seconds' } };
const dbLocal = proxyLocalActivities<Activities>(DB_LOCAL);
// A released item's row may not have committed yet (the API signals before its commit): a few tries, then it stays in the digest.
const release = proxyLocalActivities<Activities>({ ...DB_LOCAL, retry: { ...DB_LOCAL.retry, maximumAttempts: 6 } });

export async function digestWorkflow(input: DigestInput): Promise<DigestProgress> {
  const { spec, tenantId } = input;
  const carried = new Set(input.carried ?? []);
  const seen = new Set<string>(carried);
  const released = new Set<string>();
  let lastItemAt = Date.now();
  const progress: DigestProgress = { pending: seen.size, digests: [] };
  const show = (): void => setCurrentDetails(digestDetails(seen.size, progress.closesAt, spec.maxItems));

  setHandler(digestItemSignal, (id) => {
    if (seen.has(id) || released.has(id)) return; // a retried trigger re-signals: counted once
    seen.add(id);
    lastItemAt = Date.now();
    progress.pending = seen.size;
    show();
  });
  setHandler(digestStatusQuery, () => progress);

  // signal-with-start delivers the first item with the start; a run continued with carried items has them already.
  await condition(() => seen.size > 0);
  const openedAt = Date.now();

  // firstImmediately: the first item of a fresh window goes now, on its own, as an ordinary notification.
  if (spec.firstImmediately && carried.size === 0) {
    const [first] = seen;
    const outcome = await release.releaseDigestItem({ tenantId, notificationId: first! }).catch(() => 'gone' as const);
    if (outcome === 'released') {
      seen.delete(first!);
      released.add(first!);
      progress.pending = seen.size;
      await startNotification(input, first!);
    }
  }

  const scheduledAt = spec.schedule ? await dbLocal.nextDigestTime({ userRef: input.userRef, schedule: spec.schedule, after: openedAt }) : undefined;
  // Sliding windows move with each item: wait again whenever one arrived while waiting.
  for (;;) {
    const closesAt = digestDeadline(spec, openedAt, lastItemAt, scheduledAt);
    progress.closesAt = new Date(closesAt).toISOString();
    show();
    const observed = lastItemAt;
    const full = (): boolean => spec.maxItems !== undefined && seen.size >= spec.maxItems;
    const woke = await condition(() => full() || (spec.window?.mode === 'sliding' && lastItemAt !== observed), Math.max(0, closesAt - Date.now()));
    if (!woke || full()) break;
  }

  const { workflowId, runId } = workflowInfo();
  const closed = await dbLocal.closeDigestWindow({ ...input, carried: undefined, workflowId, closeKey: runId });
  if (closed.digestId) {
    progress.digests.push(closed.digestId);
    await startNotification(input, closed.digestId, closed.itemCount);
  }
  // Items signalled whose rows had not committed when the window closed go into the next window,
  // once: an id carried before and still unclaimed was rolled back and is dropped.
  const claimed = new Set(closed.claimed);
  const leftover = [...seen].filter((id) => !claimed.has(id) && !carried.has(id));
  progress.pending = leftover.length;
  setCurrentDetails(digestDetails(leftover.length, undefined, spec.maxItems, closed.itemCount));
  // One billed action per window: the list shows whether this run sent a digest.
  upsertSearchAttributes([{ key: DeliveryStatusAttr, value: closed.digestId ? 'digested' : 'empty' }]);
  if (leftover.length) await continueAsNew<typeof digestWorkflow>({ ...input, carried: leftover });
  return progress;
}

/** The ordinary notification workflow for a digest (or a released item): it sends, audits and completes. */
async function startNotification(input: DigestInput, notificationId: string, items?: number): Promise<void> {
  const n = { version: 1 as const, notificationId, tenantId: input.tenantId, userId: input.userId, type: input.type, category: input.category };
  await startChild(notificationWorkflow, {
    workflowId: notificationWorkflowId(input.tenantId, notificationId),
    args: [n],
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: items === undefined ? notificationSummary(n) : `digest of ${items}: ${notificationSummary(n)}`,
    staticDetails: notificationDetails(n),
    typedSearchAttributes: [
      { key: TenantId, value: input.tenantId },
      { key: UserId, value: input.userId },
      { key: NotificationType, value: input.type },
      { key: Category, value: input.category },
      { key: DeliveryStatusAttr, value: 'accepted' },
    ],
  });
}
