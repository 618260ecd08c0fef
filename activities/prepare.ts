import { Context } from '@temporalio/activity';
import type { DeliveryPlan } from '../domain/notifications/plan.js';
import { preparation } from '../domain/notifications/prepare.js';
import type { Channel } from '../domain/notifications/status.js';
import type { ActivityDeps } from './deps.js';
import { failureOf } from './failures.js';

export function prepareActivities({ db, secrets, publicUrl }: ActivityDeps) {
  const { prepare, renderFallback, resume } = preparation({ db, secrets, publicUrl });
  return {
    /** The channels decided and rendered (domain/notifications/prepare.ts); a Stop leaves as the workflow's failure. */
    async prepareDelivery({ notificationId }: { notificationId: string }): Promise<DeliveryPlan> {
      const plan = await prepare(notificationId, Context.current().info.attempt);
      if (plan.kind === 'retry' || plan.kind === 'failed') throw failureOf(plan);
      return plan;
    },

    /** A fallback channel's message rendered and stored; the history keeps only its locale and template version. */
    async renderMessage({
      notificationId,
      channel,
    }: {
      notificationId: string;
      channel: Channel;
    }): Promise<{ locale: string; templateVersion: number }> {
      const rendered = await renderFallback(notificationId, channel);
      if ('kind' in rendered) throw failureOf(rendered);
      return rendered;
    },

    /** A scheduled notification's time has come: it shows running again. */
    async resumeScheduled({ notificationId }: { notificationId: string }): Promise<void> {
      await resume(notificationId);
    },
  };
}
