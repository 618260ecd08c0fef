import { z } from 'zod';
import { keyedRecord } from './contract.js';
import { channels, notificationStatuses } from '../domain/notifications/status.js';
import { isKnownLocale } from '../templates/locale.js';
import { feedbackKinds } from '../db/schema-feedback.js';
import { clockTime } from '../domain/notifications/quiet-hours.js';

/** The single source for request/response validation, TypeScript types and the OpenAPI document. */

/**
 * The document says `format: email`; this is the pattern JSON Schema validators check that format
 * with (ajv-formats' "full" mode), so the API accepts exactly the addresses the document allows.
 */
export const FORMAT_EMAIL =
  /^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
export const Email = z.email({ pattern: FORMAT_EMAIL }).max(254);

export const UserIdParam = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'user ids are 1-128 characters of letters, digits and . _ : -');

const timezone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as Europe/Paris');

export const Channel = z.enum(channels);

const clock = z.string().regex(clockTime, 'a time of day, "HH:MM"');
export const QuietHours = z.object({ starts: clock, ends: clock }).strict();

export const UserProfile = z
  .object({
    email: Email.nullable().optional().describe('Where e-mail alerts go; null removes it'),
    locale: z
      .string()
      .max(35)
      .refine(isKnownLocale, 'must be a BCP 47 language tag such as fr or fr-BE')
      .default('en')
      .describe('BCP 47; content falls back fr-BE -> fr -> the tenant default'),
    timezone: timezone.default('Europe/Paris'),
    pushTokens: z.array(z.string().min(1).max(4096)).max(20).default([]).describe('FCM registration tokens; replaces the set'),
    quietHours: QuietHours.nullable()
      .optional()
      .describe("A daily window in the user's timezone when only mandatory categories are sent; null: the tenant's default"),
  })
  .strict();

export const UserView = z.object({
  userId: z.string(),
  email: z.string().nullable(),
  locale: z.string(),
  timezone: z.string(),
  pushDevices: z.number().int().describe('How many device tokens are registered (tokens are never returned)'),
  quietHours: QuietHours.nullable(),
});

export const PreferencesBody = z
  .object({
    categories: keyedRecord(
      z.string().max(64),
      z
        .array(Channel)
        .max(2)
        .refine((a) => new Set(a).size === a.length, 'channels must be unique')
        .openapi({ uniqueItems: true }),
    ),
    /** Per category: "each" (every notification on its own) or "digest" (in the type's digest, else daily at 19:00 on the user's clock). */
    frequency: keyedRecord(z.string().max(64), z.enum(['each', 'digest']))
      .optional()
      .describe(
        'per category: "each" time, or "digest" (the type\'s digest; without one, daily 19:00 on the user\'s clock); mandatory categories always go at once',
      ),
    /** Who made the change, for the consent ledger (default "app"); never an address. */
    actor: z.string().min(1).max(128).optional(),
    /** Version of the preference or consent text the person was shown. */
    textVersion: z.string().min(1).max(64).optional(),
  })
  .strict();

export const PreferencesView = z.object({
  categories: z.record(
    z.string(),
    z.object({
      channels: z.array(Channel),
      source: z.enum(['user', 'default']),
      mandatory: z.boolean(),
      requiresOptIn: z.boolean(),
      optedInAt: z.string().nullable(),
      frequency: z.enum(['each', 'digest']).nullable().describe("the user's choice; null: as each type declares"),
    }),
  ),
});

const scalar = z.union([z.string().max(2000), z.number(), z.boolean()]);

const MAX_SCHEDULE_MS = 30 * 86_400_000;

export const NotificationRequest = z
  .object({
    userId: UserIdParam,
    type: z.string().min(1).max(64),
    data: keyedRecord(z.string().max(64), scalar).refine((d) => Object.keys(d).length <= 50, 'at most 50 fields'),
    sendAt: z.iso
      .datetime({ offset: true })
      .refine((t) => Date.parse(t) <= Date.now() + MAX_SCHEDULE_MS, 'at most 30 days ahead')
      .optional()
      .describe('When to send (ISO 8601 with offset); the notification shows "scheduled" until then. Absent or past: now'),
  })
  .strict();

export const IdempotencyKey = z
  .string({ error: 'the Idempotency-Key header is required' })
  .regex(/^[\x21-\x7e]{1,255}$/, 'Idempotency-Key must be 1-255 visible ASCII characters');

export const NotificationAccepted = z.object({
  id: z.uuid(),
  status: z.string(),
  workflowId: z.string(),
  replayed: z.boolean().describe('true when this Idempotency-Key was seen before and nothing new was started'),
});

export const DeliveryAttemptView = z.object({
  channel: Channel,
  attempt: z.number().int(),
  outcome: z.enum(['accepted', 'deferred', 'failed']),
  sourceIp: z.string().nullable(),
  poolId: z.string().nullable(),
  target: z.string().nullable(),
  provider: z.string().nullable(),
  responseCode: z.number().int().nullable(),
  response: z.string().nullable(),
  at: z.string(),
});

export const FeedbackEventView = z.object({
  kind: z.enum(feedbackKinds),
  bounceType: z.enum(['hard', 'soft']).nullable(),
  class: z.string().nullable(),
  status: z.string().nullable(),
  source: z.string(),
  at: z.string(),
});

export const NotificationView = z.object({
  id: z.uuid(),
  userId: z.string(),
  type: z.string(),
  category: z.string(),
  status: z.enum(notificationStatuses),
  channels: z.array(z.string()),
  deliveredChannels: z.array(z.string()),
  error: z.string().nullable(),
  workflowId: z.string(),
  templateVersion: z.number().int().nullable().describe('the template version the notification is rendered with (chosen when accepted)'),
  createdAt: z.string(),
  updatedAt: z.string(),
  attempts: z.array(DeliveryAttemptView),
  /** Bounces and complaints learnt for this notification (DSN, ARF, provider webhook, or the reply at RCPT). */
  feedback: z.array(FeedbackEventView),
  /** When a scheduled notification goes out (its sendAt, or the end of the user's quiet hours). */
  sendAt: z.string().nullable(),
});

export const AuditView = z.object({
  notificationId: z.uuid(),
  events: z.array(z.object({ at: z.string(), step: z.string(), detail: z.record(z.string(), z.unknown()) })),
});

export const CancelView = z.object({ id: z.uuid(), cancelled: z.boolean(), status: z.string() });

/** Most notifications one batch call may carry; larger sends are split by the caller. */
export const MAX_BATCH_ITEMS = 1000;

export const BatchItem = z
  .object({
    idempotencyKey: z
      .string({ error: 'idempotencyKey is required' })
      .regex(/^[\x21-\x7e]{1,255}$/, 'idempotencyKey must be 1-255 visible ASCII characters'),
    ...NotificationRequest.shape,
  })
  .strict();

/** The envelope only: each item is validated on its own so one bad item doesn't sink the rest. */
export const BatchRequest = z.object({ notifications: z.array(z.unknown()).min(1, 'at least one notification') }).strict();

export const BatchItemResult = z.object({
  index: z.number().int(),
  status: z.number().int().describe('202 when accepted or replayed; otherwise the 4xx/5xx of the problem'),
  id: z.uuid().optional(),
  workflowId: z.string().optional(),
  replayed: z.boolean().optional(),
  problem: z
    .object({
      type: z.string(),
      title: z.string(),
      status: z.number().int(),
      detail: z.string(),
      errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    })
    .optional(),
});

export const BatchResponse = z.object({
  accepted: z.number().int(),
  rejected: z.number().int(),
  results: z.array(BatchItemResult),
});
