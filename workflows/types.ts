/** Shapes that cross the workflow boundary. They carry ids and event data, never e-mail addresses or push tokens. */

import type { Channel, ChannelOutcome, NotificationStatus } from '../domain/notifications/status.js';

export type { Channel, NotificationStatus };

export interface NotificationInputV1 {
  version: 1;
  notificationId: string;
  tenantId: string;
  /** The app's own user id (opaque). */
  userId: string;
  type: string;
  category: string;
  /** ISO time the app asked the notification to go out at (POST sendAt); absent: now. */
  sendAt?: string;
}

export type NotificationInput = NotificationInputV1;

export interface ChannelResult {
  channel: Channel;
  /** suppressed: the address is on the tenant's suppression list, nothing was sent. */
  outcome: ChannelOutcome;
  /** Failure type (e.g. SmtpPermanent, PushTokensInvalid) and message when it failed. */
  error?: { type: string; message: string };
  fallback: boolean;
}

export interface NotificationProgress {
  status: NotificationStatus;
  channels: Channel[];
  results: ChannelResult[];
  reason?: string;
}

export interface CancelResult {
  cancelled: boolean;
  status: NotificationStatus;
}
