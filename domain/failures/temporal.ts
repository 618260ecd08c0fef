import { ApplicationFailure } from '@temporalio/common';
import { redactAddresses } from './redact.js';

/**
 * The failure taxonomy shared by every activity:
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
