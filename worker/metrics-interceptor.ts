import type { Context } from '@temporalio/activity';
import type { ActivityInterceptors } from '@temporalio/worker';
import { activityFailures, activityScheduleToStart } from '../domain/metrics/registry.js';

/** Counts each activity attempt's wait in the task queue and its failure, by activity type (bounded). */
export function activityMetrics(ctx: Context): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        const { activityType, currentAttemptScheduledTimestampMs } = ctx.info;
        activityScheduleToStart.observe({ activity: activityType }, Math.max(0, Date.now() - currentAttemptScheduledTimestampMs) / 1000);
        try {
          return await next(input);
        } catch (err) {
          // The failure's type (SmtpTransient, NotFound, ...) is one of ours; never its message.
          const type =
            err && typeof err === 'object' && 'type' in err && typeof err.type === 'string' ? err.type : err instanceof Error ? err.name : 'Error';
          activityFailures.inc({ activity: activityType, type: type.slice(0, 40) });
          throw err;
        }
      },
    },
  };
}
