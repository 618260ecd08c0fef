// The values a notification's channel and status take, as stored (db/), answered (api/) and set
// by the workflow (through domain/notifications/status.ts). Plain values, on the ground floor so
// the schema and the template checks take them from here too.

export const channels = ['email', 'push'] as const;
export type Channel = (typeof channels)[number];

/** A notification's status, as stored, answered by the API and set by the workflow. */
export const notificationStatuses = [
  'accepted',
  'scheduled',
  /** Waiting in a digest window (digest_items); it goes out inside a digest notification. */
  'batched',
  /** Went into the digest notification named in its audit ('digest.included'). */
  'digested',
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
