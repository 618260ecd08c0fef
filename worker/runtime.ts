import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';

let installed = false;

/**
 * Temporal's own worker logs at `level` (default WARN) instead of INFO chatter, and its metrics
 * (polls, task latencies, slots, sticky cache) served in Prometheus format at
 * http://<metricsAddress>/metrics when given. Call once, before any connection.
 */
export function installTemporalRuntime(level: LogLevel = 'WARN', metricsAddress?: string): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: new DefaultLogger(level),
    ...(metricsAddress
      ? {
          telemetryOptions: {
            metrics: { prometheus: { bindAddress: metricsAddress, countersTotalSuffix: true, useSecondsForDurations: true, unitSuffix: true } },
          },
        }
      : {}),
  });
}
