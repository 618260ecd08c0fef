import { ApplicationFailure } from '@temporalio/activity';
import { redactAddresses } from '../domain/failures/redact.js';
import { Refusal, type Stop } from '../domain/failures/refusal.js';

/**
 * The failure taxonomy shared by every activity, the one place domain/ outcomes meet Temporal:
 * - transient (plain retryable failure): the workflow's retry policy tries again with backoff;
 * - permanent (non-retryable, with a `type`): the workflow moves on to fallback at once.
 * Messages end up in the workflow history, so e-mail addresses are removed from them.
 */
export function transient(type: string, message: string, nextRetryDelayMs?: number): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message: redactAddresses(message),
    nonRetryable: false,
    nextRetryDelay: nextRetryDelayMs,
  });
}

export function permanent(type: string, message: string): ApplicationFailure {
  return ApplicationFailure.create({ type, message: redactAddresses(message), nonRetryable: true });
}

/** A domain step's Stop, as the failure the workflow sees. */
export function failureOf(stop: Stop): ApplicationFailure {
  return stop.kind === 'retry' ? transient(stop.type, stop.reason, stop.afterMs) : permanent(stop.type, stop.reason);
}

type Activity = (...args: never[]) => Promise<unknown>;

/** Every activity's edge: a Refusal thrown anywhere in domain/ leaves as the ApplicationFailure it describes. */
export function atEdge<T extends Record<string, Activity>>(activities: T): T {
  const edged = Object.entries(activities).map(([name, activity]) => [
    name,
    async (...args: never[]) => {
      try {
        return await activity(...args);
      } catch (err) {
        throw err instanceof Refusal ? failureOf(err.stop) : err;
      }
    },
  ]);
  return Object.fromEntries(edged) as T;
}
