import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import type { NativeConnection, WorkerOptions, WorkerPlugin } from '@temporalio/worker';
import { activityErrors } from './activity-errors.js';
import { activityMetrics } from './metrics-interceptor.js';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import { failureConverterPath } from '../config/temporal.js';
import { alertsTaskQueue } from '../workflows/queues.js';

const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never;

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

/** The two workers of one process, started and stopped together. */
export interface NotificationWorker {
  run(): Promise<void>;
  shutdown(): void;
}

/** Slots of the mandatory-alerts lane: a few, since alerts are rare next to bursts; enough for a spike of them. */
const alertSlots = (total: number) => Math.max(2, Math.min(50, Math.ceil(total / 4)));

/**
 * Workers serving the notification workflow and its activities: one on the task queue, one on its
 * mandatory-alerts lane (workflows/queues.ts alertsTaskQueue) with slots of its own, so a
 * burst that fills the first worker's slots never delays a security alert. Both run one bundle.
 */
export async function createNotificationWorker(opts: NotificationWorkerOptions): Promise<NotificationWorker> {
  const activities = { ...createActivities(opts.deps), ...opts.activityOverrides };
  const workflowBundle = opts.workflowBundle ?? (await bundleWorkflowCode({ workflowsPath, failureConverterPath, logger: quiet }));
  const slots = opts.tuning?.maxConcurrentActivities ?? 200;
  const create = (taskQueue: string, maxActivities: number, maxCachedWorkflows?: number) =>
    Worker.create({
      connection: opts.connection,
      namespace: opts.namespace,
      taskQueue,
      activities,
      dataConverter: opts.dataConverter,
      // Errors are scrubbed first (innermost), so the metrics count what the history will show.
      interceptors: { activity: [activityMetrics, activityErrors] },
      ...(opts.plugins?.length ? { plugins: opts.plugins } : {}),
      workflowBundle,
      // Sends wait on the network, not the CPU: allow many in flight per worker.
      maxConcurrentActivityTaskExecutions: maxActivities,
      maxConcurrentLocalActivityExecutions: maxActivities,
      ...(maxCachedWorkflows ? { maxCachedWorkflows } : {}),
    });
  const cache = opts.tuning?.maxCachedWorkflows;
  const main = await create(opts.taskQueue, slots, cache);
  const alerts = await create(alertsTaskQueue(opts.taskQueue), alertSlots(slots), cache ? Math.max(10, Math.ceil(cache / 10)) : undefined);
  return {
    run: async () => {
      // One stops, both stop: a process never serves only half of its queues.
      const runs = [main.run(), alerts.run()];
      try {
        await Promise.race(runs);
      } finally {
        for (const w of [main, alerts]) if (w.getState() === 'RUNNING') w.shutdown();
        await Promise.allSettled(runs);
      }
      await Promise.all(runs);
    },
    shutdown: () => {
      for (const w of [main, alerts]) if (w.getState() === 'RUNNING') w.shutdown();
    },
  };
}
