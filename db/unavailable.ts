// Telling "PostgreSQL is not there right now" (restarting, failing over) from any other error, and
// waiting it out where giving up would cost more than waiting (the record of a mail that has left).

/** Connection-level failures of Postgres (postgres.js codes and SQLSTATE class 08 / 57P0x), through drizzle's wrapper. */
export function databaseUnavailable(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 5; e = e.cause as typeof e, depth++) {
    const code = typeof e.code === 'string' ? e.code : '';
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|CONNECT_TIMEOUT|CONNECTION_(CLOSED|ENDED|DESTROYED)|08\d{3}|57P0[123])$/.test(code)) return true;
  }
  return false;
}

/**
 * Runs `write` again while the database is unavailable, up to `maxMs` (then the last error is
 * thrown); `pause` sleeps between tries (an activity's sleep, which also heartbeats).
 */
export async function writeThroughOutage<T>(write: () => Promise<T>, pause: (ms: number) => Promise<void>, maxMs = 60_000): Promise<T> {
  const giveUpAt = Date.now() + maxMs;
  for (let delay = 250; ; delay = Math.min(delay * 2, 5_000)) {
    try {
      return await write();
    } catch (err) {
      if (!databaseUnavailable(err) || Date.now() + delay > giveUpAt) throw err;
      await pause(delay);
    }
  }
}

/**
 * A long-running process survives PostgreSQL restarting. postgres.js re-issues LISTEN on a fresh
 * connection after a drop, and a failure of that re-issue is a rejection nobody awaits
 * (porsager/postgres#310): it would end the process. Such a rejection is logged and the process
 * carries on (the next query reconnects); any other unhandled rejection is logged and ends it, as
 * Node would, but through our logger (Node prints the whole error, a failed query's values included).
 */
export function surviveDatabaseRestarts(logger: { warn(o: object, m: string): void; fatal(o: object, m: string): void }): void {
  process.on('unhandledRejection', (reason) => {
    if (databaseUnavailable(reason)) {
      logger.warn({ err: reason }, 'a database connection dropped outside any query; carrying on');
      return;
    }
    logger.fatal({ err: reason }, 'unhandled rejection');
    process.exit(1);
  });
}
