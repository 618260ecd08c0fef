import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection, WorkerOptions, WorkerPlugin } from '@temporalio/worker';
import { activityMetrics } from './metrics-interceptor.js';
import { createActivities, type ActivityDeps } from '../activities/index.js';

// Under tsx/vitest this module is the .ts source; from dist/ (npm run build) it is compiled .js.
const compiled = !import.meta.url.endsWith('.ts');
export const workflowsPath = fileURLToPath(new URL(`../workflows/index.${compiled ? 'js' : 'ts'}`, import.meta.url));
/** dist/workflow-bundle.js, written by `npm run build`: the compiled worker's default bundle. None when run from source. */
export const builtWorkflowBundlePath = compiled ? fileURLToPath(new URL('../workflow-bundle.js', import.meta.url)) : undefined;

export interface NotificationWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: ActivityDeps;
  /** Payload encryption and failure converter (config/temporal.ts); a prebuilt bundle must carry the same failure converter. */
  dataConverter: DataConverter;
  /** Prebuilt bundle (tests bundle once per file); otherwise the worker bundles `workflows/` at start. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Worker tuning (WORKER_MAX_CACHED_WORKFLOWS, WORKER_MAX_CONCURRENT_ACTIVITIES); Temporal's defaults / 200 when absent. */
  tuning?: { maxCachedWorkflows?: number; maxConcurrentActivities?: number };
  /** Replaces individual activities, typed against the real ones (tests only). */
  activityOverrides?: Partial<ReturnType<typeof createActivities>>;
  /** Tracing (config/tracing.ts) when an OTLP endpoint is configured. */
  plugins?: WorkerPlugin[];
}

/** A worker serving the notification workflow and its activities on one task queue. */
export async function createNotificationWorker(opts: NotificationWorkerOptions): Promise<Worker> {
  const activities = { ...createActivities(opts.deps), ...opts.activityOverrides };
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities,
    dataConverter: opts.dataConverter,
    interceptors: { activity: [activityMetrics] },
    ...(opts.plugins?.length ? { plugins: opts.plugins } : {}),
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath }),
    // Sends wait on the network, not the CPU: allow many in flight per worker.
    maxConcurrentActivityTaskExecutions: opts.tuning?.maxConcurrentActivities ?? 200,
    maxConcurrentLocalActivityExecutions: opts.tuning?.maxConcurrentActivities ?? 200,
    ...(opts.tuning?.maxCachedWorkflows ? { maxCachedWorkflows: opts.tuning.maxCachedWorkflows } : {}),
  });
}
