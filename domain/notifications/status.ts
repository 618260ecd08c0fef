// A notification's statuses and channels for the domain, the API and the workflow (the values
// themselves sit below db/, in lib/notification-vocabulary.ts). Types and plain values only, so
// workflow code may import the types.

export { channels, notificationStatuses, type Channel, type NotificationStatus } from '../../lib/notification-vocabulary.js';
import type { NotificationStatus } from '../../lib/notification-vocabulary.js';

/** The outcome of one channel's delivery, as the workflow records it. */
export type ChannelOutcome = 'delivered' | 'failed' | 'cancelled' | 'suppressed';

/** What the tenant's status webhook reports: a final status, or feedback that came after it. */
export type StatusWebhookOutcome = Extract<
  NotificationStatus,
  'delivered' | 'failed' | 'suppressed' | 'skipped' | 'cancelled' | 'bounced' | 'complained'
>;

/** Shown after delivery when the e-mail that reached the user bounced later or drew a complaint. */
export type LateStatus = Extract<NotificationStatus, 'bounced' | 'complained'>;
