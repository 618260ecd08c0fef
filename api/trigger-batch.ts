import type { z } from 'zod';
import type { AppDeps } from './env.js';
import { ApiProblem, problemBody, problems } from './problem.js';
import { BatchItem, MAX_BATCH_ITEMS } from './schemas.js';
import type { BatchItemResult, BatchResponse } from './schemas.js';
import {
  auditAccepted,
  checkRequest,
  ensureSendable,
  recordNotifications,
  startNotification,
  tenantTypes,
  type Checked,
  type Recorded,
} from './trigger.js';
import { parseWith } from './validate.js';

/** Workflow starts in flight at once: enough to overlap Temporal round trips. */
const CONCURRENCY = 8;

type ItemResult = z.infer<typeof BatchItemResult>;

/**
 * POST /v1/notifications/batch (declared in api/notifications.ts): up to 1,000 notifications, each with its own idempotency key and
 * its own result. Items go through the same steps as the single POST (api/trigger.ts), with the
 * tenant's types read once and the items recorded in one statement; a bad item gets its own
 * problem and nothing is written for it, while the others are accepted. Items that share a key
 * are recorded one after the other, so the second is a replay (or a 422 if its payload differs).
 */
export async function triggerBatch(deps: AppDeps, tenantId: string, items: readonly unknown[]): Promise<z.infer<typeof BatchResponse>> {
  if (items.length > MAX_BATCH_ITEMS) {
    throw problems.tooLarge(`A batch carries at most ${MAX_BATCH_ITEMS} notifications (got ${items.length}); split it`);
  }

  const results: ItemResult[] = new Array(items.length);
  const refuse = (index: number, err: unknown) => {
    // Unexpected failures fail the whole call: every item is idempotent, so the caller retries the batch as is.
    if (!(err instanceof ApiProblem)) throw err;
    results[index] = { index, status: err.status, problem: problemBody(err.status, err.problem) };
  };

  // The checks that need no round trip. The n-th use of a key goes into the n-th round, so a
  // repeated key is recorded after the earlier item's row is committed and resolves against it.
  await ensureSendable(deps, tenantId);
  const types = await tenantTypes(deps, tenantId);
  const rounds: { index: number; checked: Checked }[][] = [];
  const uses = new Map<string, number>();
  items.forEach((raw, index) => {
    try {
      const { idempotencyKey, ...body } = parseWith(BatchItem, raw, `body.notifications.${index}`);
      const checked = checkRequest(types, idempotencyKey, body);
      const round = uses.get(idempotencyKey) ?? 0;
      uses.set(idempotencyKey, round + 1);
      (rounds[round] ??= []).push({ index, checked });
    } catch (err) {
      refuse(index, err);
    }
  });

  // One transaction: the rows, the workflow starts, then the audit steps. A workflow that cannot
  // start (Temporal unavailable) fails the whole call with 503 and nothing is written: the caller
  // retries the batch as is, its keys then create what this call could not. (Workflows that did
  // start find no row and end without sending.)
  await deps.db.transaction(async (tx) => {
    // One statement per round (almost always one in all).
    const recorded: { index: number; n: Recorded }[] = [];
    for (const round of rounds) {
      const outcomes = await recordNotifications(
        tx,
        tenantId,
        round.map((r) => r.checked),
      );
      round.forEach(({ index }, i) => {
        const outcome = outcomes[i]!;
        if (outcome instanceof ApiProblem) refuse(index, outcome);
        else recorded.push({ index, n: outcome });
      });
    }

    // Workflow starts, a few at a time; items that resolved to the same notification share one start.
    const starts = new Map<string, Promise<void>>();
    let next = 0;
    let failed = false;
    await Promise.all(
      Array.from({ length: Math.min(CONCURRENCY, recorded.length) }, async () => {
        while (next < recorded.length && !failed) {
          const { index, n } = recorded[next++]!;
          let start = starts.get(n.workflowId);
          if (!start) starts.set(n.workflowId, (start = startNotification(deps, tenantId, n)));
          // The first failure stops the other lanes: the call will answer 503 and roll back.
          await start.catch((err: unknown) => {
            failed = true;
            throw err;
          });
          results[index] = { index, status: 202, id: n.id, workflowId: n.workflowId, replayed: !n.inserted };
        }
      }),
    );
    await auditAccepted(
      tx,
      tenantId,
      recorded.map((r) => r.n),
    );
  });
  const accepted = results.filter((r) => r.status === 202).length;
  return { accepted, rejected: results.length - accepted, results };
}
