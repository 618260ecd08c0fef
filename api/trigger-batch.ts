import type { z } from 'zod';
import { acceptBatch, NotAccepted, type NotificationRequest } from '../domain/notifications/accept.js';
import type { AppDeps } from './env.js';
import { ApiProblem, problemBody, problems } from './problem.js';
import { BatchItem, MAX_BATCH_ITEMS } from './schemas.js';
import type { BatchItemResult, BatchResponse } from './schemas.js';
import { acceptDeps, problemOf } from './trigger.js';
import { parseWith } from './validate.js';

type ItemResult = z.infer<typeof BatchItemResult>;

/**
 * POST /v1/notifications/batch (declared in api/notifications.ts): up to 1,000 notifications, each
 * with its own idempotency key and its own result, through domain/notifications/accept.ts
 * acceptBatch. An item that does not parse gets its own problem and nothing is written for it,
 * while the others are accepted; a 503 (Temporal unreachable) fails the whole call, nothing written.
 */
export async function triggerBatch(deps: AppDeps, tenantId: string, items: readonly unknown[]): Promise<z.infer<typeof BatchResponse>> {
  if (items.length > MAX_BATCH_ITEMS) {
    throw problems.tooLarge(`A batch carries at most ${MAX_BATCH_ITEMS} notifications (got ${items.length}); split it`);
  }
  const results: ItemResult[] = new Array(items.length);
  const refuse = (index: number, err: ApiProblem) => {
    results[index] = { index, status: err.status, problem: problemBody(err.status, err.problem) };
  };

  const parsed: { index: number; idempotencyKey: string; body: NotificationRequest }[] = [];
  items.forEach((raw, index) => {
    try {
      const { idempotencyKey, ...body } = parseWith(BatchItem, raw, `body.notifications.${index}`);
      parsed.push({ index, idempotencyKey, body });
    } catch (err) {
      // Unexpected failures fail the whole call: every item is idempotent, so the caller retries the batch as is.
      if (!(err instanceof ApiProblem)) throw err;
      refuse(index, err);
    }
  });

  let outcomes;
  try {
    outcomes = await acceptBatch(acceptDeps(deps), tenantId, parsed);
  } catch (err) {
    throw err instanceof NotAccepted ? problemOf(err) : err;
  }
  for (const o of outcomes) {
    if ('refused' in o) refuse(o.index, problemOf(o.refused));
    else results[o.index] = { index: o.index, status: 202, id: o.id, workflowId: o.workflowId, replayed: o.replayed };
  }
  const accepted = results.filter((r) => r.status === 202).length;
  return { accepted, rejected: results.length - accepted, results };
}
