import { DefaultLogger, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createLogger, errorSerializer } from '../config/logger.js';

let installed = false;

/**
 * Temporal's log entries as JSON lines through our logger: an activity's failure arrives as
 * `meta.error`, and is serialized like every logged error, without a failed query's values
 * (Temporal's default logger prints the whole error object, drizzle's `params` included).
 */
export function temporalLogSink(logger: Logger): (entry: LogEntry) => void {
  return ({ level, message, meta }) => {
    const fields = Object.fromEntries(Object.entries(meta ?? {}).map(([k, v]) => [k, v instanceof Error ? errorSerializer(v) : v]));
    logger[level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error'](fields, message);
  };
}

/**
 * Temporal's own worker logs at `level` (default WARN) instead of INFO chatter, and its metrics
 * (polls, task latencies, slots, sticky cache) served in Prometheus format at
 * http://<metricsAddress>/metrics when given. Call once, before any connection.
 */
export function installTemporalRuntime(level: LogLevel = 'WARN', metricsAddress?: string): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: new DefaultLogger(level, temporalLogSink(createLogger(level.toLowerCase(), 'temporal'))),
    ...(metricsAddress
      ? {
          telemetryOptions: {
            metrics: { prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, useSecondsForDurations: true, unitSuffix: true } },
          },
        }
      : {}),
  });
}
