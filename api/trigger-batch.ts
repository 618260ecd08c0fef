import type { Context } from 'hono';
import type { z } from 'zod';
import type { ApiDeps, ApiEnv } from './env.js';
import { ApiProblem, problemBody, problems } from './problem.js';
import { BatchItem, BatchRequest, MAX_BATCH_ITEMS } from './schemas.js';
import type { BatchItemResult, BatchResponse } from './schemas.js';
import { triggerNotification } from './trigger.js';
import { jsonBody, parseWith } from './validate.js';

/** Items triggered at once: enough to overlap database and Temporal round trips, below the pool size. */
const CONCURRENCY = 8;

type ItemResult = z.infer<typeof BatchItemResult>;

/**
 * POST /v1/notifications/batch: up to 1,000 notifications, each with its own idempotency key and
 * its own result. Each item goes through the same trigger as the single POST; a bad item gets its
 * own problem and nothing is written for it, while the others are accepted. Items that share a key
 * run one after the other, so the second is a replay (or a 422 if its payload differs).
 */
export async function triggerBatch(deps: ApiDeps, c: Context<ApiEnv>): Promise<Response> {
  const tenantId = c.var.tenantId;
  const { notifications: items } = await jsonBody(c, BatchRequest);
  if (items.length > MAX_BATCH_ITEMS) {
    throw problems.tooLarge(`A batch carries at most ${MAX_BATCH_ITEMS} notifications (got ${items.length}); split it`);
  }

  const results: ItemResult[] = new Array(items.length);
  const byKey = new Map<string, Promise<unknown>>();
  const run = async (index: number): Promise<void> => {
    try {
      const item = parseWith(BatchItem, items[index], `body.notifications.${index}`);
      const { idempotencyKey, ...body } = item;
      const previous = byKey.get(idempotencyKey);
      const current = (previous ?? Promise.resolve()).catch(() => {}).then(() => triggerNotification(deps, tenantId, idempotencyKey, body));
      byKey.set(idempotencyKey, current);
      const row = await current;
      results[index] = { index, status: 202, id: row.id, workflowId: row.workflowId, replayed: !row.inserted };
    } catch (err) {
      // Unexpected failures fail the whole call: every item is idempotent, so the caller retries the batch as is.
      if (!(err instanceof ApiProblem)) throw err;
      results[index] = { index, status: err.status, problem: problemBody(err.status, err.problem) };
    }
  };

  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(CONCURRENCY, items.length) }, async () => {
      while (next < items.length) await run(next++);
    }),
  );
  const accepted = results.filter((r) => r.status === 202).length;
  const response: z.infer<typeof BatchResponse> = { accepted, rejected: results.length - accepted, results };
  return c.json(response, 202);
}
