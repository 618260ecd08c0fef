// Production entry point: the Temporal worker serving the notification task queue.
// Needs DATABASE_URL, TEMPORAL_ADDRESS, SECRET_KEY and FCM settings (see README).
import { Client, Connection } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';
import { checkProductionSettings, parseEnv } from '../config/env.js';
import { assertResidency } from '../config/residency.js';
import { installTemporalRuntime } from '../worker/runtime.js';
import { createLogger } from '../config/logger.js';
import { surviveDatabaseRestarts } from '../db/unavailable.js';
import { temporalSettings } from '../config/temporal.js';
import { checkTemporalTls } from '../config/temporal-tls.js';
import { connectDatabase, waitForSchema } from '../db/client.js';
import { ensureMonthlyPartitions } from '../db/partitions.js';
import { builtWorkflowBundlePath, createNotificationWorker } from '../worker/create-worker.js';
import { activityDepsFromEnv } from '../worker/deps.js';
import { serveWorkerMetrics } from '../worker/metrics-server.js';
import { tracingPlugin } from '../config/tracing.js';
import { ensureMonitoringSchedules } from '../worker/schedules.js';

const env = parseEnv(process.env);
checkProductionSettings(env, 'worker');
installTemporalRuntime('WARN', env.TEMPORAL_METRICS_ADDRESS);
const logger = createLogger(env.LOG_LEVEL, 'worker');
surviveDatabaseRestarts(logger);
if (!env.DATABASE_URL || !env.TEMPORAL_ADDRESS)
  throw new Error('bin/worker.ts needs DATABASE_URL and TEMPORAL_ADDRESS (npm start runs everything embedded)');
assertResidency(env, { databaseUrl: env.DATABASE_URL, temporalAddress: env.TEMPORAL_ADDRESS });
const database = connectDatabase(env.DATABASE_URL, { max: 20 });
// Started beside the API (which migrates) or before `npm run db:migrate`: wait for the schema rather than crash.
await waitForSchema(database.sql, (m) => logger.warn(m));
// This month's and the next months' partitions of the audit and attempt tables (also kept by the monitor schedule).
await ensureMonthlyPartitions(database.db);
const temporal = temporalSettings(env, env.TEMPORAL_ADDRESS);
await checkTemporalTls(temporal.address, temporal.connection.tls);
const connection = await NativeConnection.connect(temporal.connection);
const deps = activityDepsFromEnv(env, database.db, logger);
// Compiled (npm run build): the bundle built with this code, so no webpack at start. From source: bundle at start.
const bundlePath = env.WORKFLOW_BUNDLE_PATH ?? builtWorkflowBundlePath;
const worker = await createNotificationWorker({
  connection,
  namespace: temporal.namespace,
  taskQueue: temporal.taskQueue,
  deps,
  dataConverter: temporal.dataConverter,
  workflowBundle: bundlePath ? { codePath: bundlePath } : undefined,
  plugins: [tracingPlugin(env, 'worker')].filter((p) => p !== undefined),
  tuning: { maxCachedWorkflows: env.WORKER_MAX_CACHED_WORKFLOWS, maxConcurrentActivities: env.WORKER_MAX_CONCURRENT_ACTIVITIES },
});
// The blocklist check and delivery monitor run from Schedules; creating them is idempotent.
const client = new Client({
  connection: await Connection.connect(temporal.connection),
  namespace: temporal.namespace,
  dataConverter: temporal.dataConverter,
});
await ensureMonitoringSchedules(client, {
  taskQueue: temporal.taskQueue,
  blocklistEvery: env.BLOCKLIST_CHECK_EVERY as Duration,
  monitorEvery: env.DELIVERY_MONITOR_EVERY as Duration,
  domainCheckEvery: env.DOMAIN_CHECK_EVERY as Duration,
  placementEvery: env.PLACEMENT_EVERY as Duration,
  placementWait: env.PLACEMENT_WAIT as Duration,
});
const metricsServer = env.WORKER_METRICS_ADDRESS
  ? serveWorkerMetrics(env.WORKER_METRICS_ADDRESS.split(':')[0]!, Number(env.WORKER_METRICS_ADDRESS.split(':')[1]))
  : undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => worker.shutdown());
logger.info({ taskQueue: temporal.taskQueue }, 'worker started');
await worker.run();
metricsServer?.close();
await deps.mailer.close();
await connection.close();
await database.close();
