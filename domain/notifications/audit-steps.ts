import type { Db } from '../../db/client.js';
import { auditEvents } from '../../db/schema.js';
import type { Channel, NotificationStatus } from './status.js';

// A notification's audit trail: every step it may show, and the one writer for them.

type AttemptOutcome = 'accepted' | 'deferred' | 'failed';

/** Every step a notification's trail may show, roughly in the order they come. */
export type NotificationStep =
  | 'notification.accepted' // api: recorded, its workflow started
  | 'cancel.requested' // api: DELETE, before the workflow hears of it
  | 'channels.decided' // prepare: the plan
  | 'skipped' // prepare: no channel (opt-in, opt-out, unreachable)
  | 'scheduled' // prepare: waits out the user's quiet hours
  | `${Channel}.rendered` // prepare, or the fallback's render
  | `${Channel}.stopped` // the tenant is suspended
  | 'email.suppressed' // the address is on the suppression list
  | 'email.waiting' // every IP is held back for this provider: a durable timer
  | `${Channel}.${AttemptOutcome}` // one delivery attempt
  | 'push.device_removed' // FCM says the token is gone
  | 'fallback' // the workflow moves on to another channel
  | `notification.${NotificationStatus}` // the final status
  | 'webhook.delivered' // the tenant's status webhook acknowledged the outcome
  | 'webhook.refused' // its URL resolves to a non-public address
  | 'digest.batched' // accept: waits in a digest window instead of going on its own
  | 'digest.included' // the digest it went into (detail.digestId)
  | 'digest.released' // firstImmediately: the window's first item goes on its own
  | 'digest.closed'; // on the digest notification: how many items it carries

export interface Step {
  tenantId: string;
  notificationId: string;
  step: NotificationStep;
  /** Ids, codes and outcomes only: never an e-mail address or a push token. */
  detail?: Record<string, unknown>;
}

/**
 * Appends steps to the trail (one or more; never none): awaited alone, or folded into a larger
 * statement with `.getSQL()` so the step commits with what it records.
 */
export function writeSteps(db: Pick<Db, 'insert'>, steps: readonly Step[]) {
  return db
    .insert(auditEvents)
    .values(steps.map((s) => ({ tenantId: s.tenantId, notificationId: s.notificationId, step: s.step, detail: s.detail ?? {} })));
}
