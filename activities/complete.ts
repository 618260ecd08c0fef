import { writeSteps, type Step } from '../domain/notifications/audit-steps.js';
import { completeNotification, type Completion } from '../domain/notifications/complete.js';
import type { ActivityDeps } from './deps.js';

export function completionActivities({ db }: ActivityDeps) {
  return {
    /** Records the final status and closes the audit trail (domain/notifications/complete.ts); says whether a status webhook follows. */
    async completeNotification(input: Completion): Promise<{ statusWebhook: boolean }> {
      return completeNotification(db, input);
    },

    /** A workflow-level step (fallback, cancel) appended to the audit trail. */
    async recordAudit(step: Step): Promise<void> {
      await writeSteps(db, [step]);
    },
  };
}
