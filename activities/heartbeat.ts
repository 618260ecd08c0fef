import { Context } from '@temporalio/activity';
import type { Attempt } from '../domain/notifications/delivery.js';

/**
 * Heartbeats every few seconds while `work` runs, so a send that is slow (a tarpitting SMTP
 * server) is not mistaken for a dead worker, while a worker that really died is noticed
 * within the heartbeat timeout and its activity retried elsewhere.
 */
export async function withHeartbeat<T>(work: () => Promise<T>, everyMs = 3000): Promise<T> {
  const ctx = Context.current();
  // No heartbeat at the start: each one the server records is a billed action, and most sends
  // finish well within the first interval.
  const timer = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

/** The activity's try, as domain/ sees it: its number, heartbeats while working, sleeps that heartbeat. */
export function currentAttempt(): Attempt {
  const ctx = Context.current();
  return {
    number: ctx.info.attempt,
    keepAlive: (work) => withHeartbeat(work),
    pause: (ms) => ctx.sleep(ms).then(() => ctx.heartbeat()),
  };
}
