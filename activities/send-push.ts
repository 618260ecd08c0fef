import { pushDelivery } from '../domain/notifications/deliver-push.js';
import type { SendInput, SendResult } from '../domain/notifications/delivery.js';
import type { ActivityDeps } from './deps.js';
import { failureOf } from './failures.js';
import { currentAttempt } from './heartbeat.js';

export function sendPushActivities({ db, push }: ActivityDeps) {
  const { deliverPush } = pushDelivery({ db, push });
  return {
    /** The notification's push (domain/notifications/deliver-push.ts); a Stop leaves as the workflow's failure. */
    async sendPush(input: SendInput): Promise<SendResult & { delivered: number; removed: number }> {
      const outcome = await deliverPush(input, currentAttempt());
      if (outcome.kind !== 'sent') throw failureOf(outcome);
      const { kind: _, ...sent } = outcome;
      return sent;
    },
  };
}
