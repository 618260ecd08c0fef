import { emailDelivery } from '../domain/notifications/deliver-email.js';
import type { SendInput, SendResult } from '../domain/notifications/delivery.js';
import type { ActivityDeps } from './deps.js';
import { failureOf } from './failures.js';
import { currentAttempt } from './heartbeat.js';

export type { SendInput, SendResult };

export function sendEmailActivities(deps: ActivityDeps) {
  const { deliverEmail } = emailDelivery(deps);
  return {
    /** The notification's e-mail (domain/notifications/deliver-email.ts); a Stop leaves as the workflow's failure. */
    async sendEmail(
      input: SendInput,
    ): Promise<SendResult & ({ attemptId: string; sourceIp: string; provider?: string } | { waitUntil: number; provider?: string })> {
      const outcome = await deliverEmail(input, currentAttempt());
      if (outcome.kind === 'sent') {
        const { kind: _, ...sent } = outcome;
        return sent;
      }
      if (outcome.kind === 'waiting') return { waitUntil: outcome.until, ...(outcome.provider ? { provider: outcome.provider } : {}) };
      throw failureOf(outcome);
    },
  };
}
