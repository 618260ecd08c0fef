import type { ActivityInterceptors } from '@temporalio/worker';
import { withoutQueryValues } from '../db/errors.js';

/**
 * A database error leaves an activity without the query's bound values (db/errors.ts): the
 * failure's message is stored in the workflow history and logged by Temporal's worker.
 */
export function activityErrors(): ActivityInterceptors {
  return {
    inbound: {
      async execute(input, next) {
        try {
          return await next(input);
        } catch (err) {
          throw withoutQueryValues(err);
        }
      },
    },
  };
}
