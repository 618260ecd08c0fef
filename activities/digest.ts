import { eq } from 'drizzle-orm';
import { users } from '../db/schema.js';
import { closeDigest, releaseItem, type ClosedDigest, type DigestInput } from '../domain/digests/items.js';
import { nextScheduledTime } from '../domain/digests/schedule.js';
import type { DigestSchedule } from '../lib/digest-spec.js';
import { notificationWorkflowId } from '../workflows/ids.js';
import type { ActivityDeps } from './deps.js';
import { ApplicationFailure } from '@temporalio/activity';

export function digestActivities({ db }: ActivityDeps) {
  return {
    /** The schedule's next fire time on the user's clock (users.timezone), as an instant the workflow's timer waits for. */
    async nextDigestTime({ userRef, schedule, after }: { userRef: string; schedule: DigestSchedule; after: number }): Promise<number> {
      const [user] = await db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userRef));
      return nextScheduledTime(after, user?.timezone ?? 'UTC', schedule);
    },

    /** Claims the window's items into one digest notification (domain/digests/items.ts); idempotent per closeKey. */
    async closeDigestWindow(input: DigestInput & { closeKey: string; workflowId: string }): Promise<ClosedDigest> {
      return closeDigest(db, input, notificationWorkflowId);
    },

    /** firstImmediately: the window's first item leaves the digest; 'missing' is retried until its row commits. */
    async releaseDigestItem({ tenantId, notificationId }: { tenantId: string; notificationId: string }): Promise<'released' | 'gone'> {
      const outcome = await releaseItem(db, tenantId, notificationId, notificationWorkflowId);
      if (outcome === 'missing') throw ApplicationFailure.retryable(`Notification ${notificationId} is not recorded yet`, 'NotYetRecorded');
      return outcome;
    },
  };
}
