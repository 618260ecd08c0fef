/** Shapes that cross the workflow boundary. They carry ids and event data, never e-mail addresses or push tokens. */

export type Channel = 'email' | 'push';

export interface NotificationInputV1 {
  version: 1;
  notificationId: string;
  tenantId: string;
  /** The app's own user id (opaque). */
  userId: string;
  type: string;
  category: string;
}

export type NotificationInput = NotificationInputV1;

export type DeliveryStatus = 'accepted' | 'running' | 'delivered' | 'failed' | 'cancelled' | 'skipped' | 'suppressed';

export interface ChannelResult {
  channel: Channel;
  /** suppressed: the address is on the tenant's suppression list, nothing was sent. */
  outcome: 'delivered' | 'failed' | 'cancelled' | 'suppressed';
  /** Failure type (e.g. SmtpPermanent, PushTokensInvalid) and message when it failed. */
  error?: { type: string; message: string };
  fallback: boolean;
}

export interface NotificationProgress {
  status: DeliveryStatus;
  channels: Channel[];
  results: ChannelResult[];
  reason?: string;
}

export interface CancelResult {
  cancelled: boolean;
  status: DeliveryStatus;
}
