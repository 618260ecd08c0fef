// The one home of a notification's statuses and channels: the table, the API schemas and the
// workflow all take them from here. Plain values only, so workflow code may import the types.

export const channels = ['email', 'push'] as const;
export type Channel = (typeof channels)[number];

/** A notification's status, as stored, answered by the API and set by the workflow. */
export const notificationStatuses = [
  'accepted',
  'scheduled',
  'running',
  'delivered',
  'failed',
  'cancelled',
  'skipped',
  'suppressed',
  'bounced',
  'complained',
] as const;
export type NotificationStatus = (typeof notificationStatuses)[number];

/** The outcome of one channel's delivery, as the workflow records it. */
export type ChannelOutcome = 'delivered' | 'failed' | 'cancelled' | 'suppressed';

/** What the tenant's status webhook reports: a final status, or feedback that came after it. */
export type StatusWebhookOutcome = Extract<
  NotificationStatus,
  'delivered' | 'failed' | 'suppressed' | 'skipped' | 'cancelled' | 'bounced' | 'complained'
>;

/** Shown after delivery when the e-mail that reached the user bounced later or drew a complaint. */
export type LateStatus = Extract<NotificationStatus, 'bounced' | 'complained'>;
