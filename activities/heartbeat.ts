import { Context } from '@temporalio/activity';

/**
 * Heartbeats every few seconds while `work` runs, so a send that is slow (a tarpitting SMTP
 * server) is not mistaken for a dead worker, while a worker that really died is noticed
 * within the heartbeat timeout and its activity retried elsewhere.
 */
export async function withHeartbeat<T>(work: () => Promise<T>, everyMs = 3000): Promise<T> {
  const ctx = Context.current();
  ctx.heartbeat();
  const timer = setInterval(() => ctx.heartbeat(), everyMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
