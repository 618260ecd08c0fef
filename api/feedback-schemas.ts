import { z } from 'zod';
import { suppressionReasons } from '../db/schema.js';
import { Email } from './schemas.js';

/** Request and response shapes of the feedback routes: suppressions, status webhook, provider reports. */

export const SuppressionBody = z
  .object({
    email: Email,
    reason: z.enum(suppressionReasons).default('manual'),
    detail: z.string().max(500).optional(),
  })
  .strict();

export const SuppressionView = z.object({
  email: z.string(),
  reason: z.enum(suppressionReasons),
  source: z.string(),
  notificationId: z.string().nullable(),
  detail: z.string().nullable(),
  createdAt: z.string(),
});

export const SuppressionPage = z.object({
  suppressions: z.array(SuppressionView),
  next: z.string().nullable().describe('Pass as `after` for the next page'),
});

export const SuppressionListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  /** Keyset cursor: the last address of the previous page. */
  after: z.string().max(254).optional(),
});

export const StatusWebhookBody = z
  .object({
    url: z
      .url({ protocol: /^https?$/ })
      .max(2000)
      .describe('Receives each notification outcome, signed with the secret returned'),
  })
  .strict();

export const StatusWebhookView = z.object({ url: z.string().nullable(), secret: z.string().nullable() });

export const UnsubscribeResult = z.object({ unsubscribed: z.boolean(), category: z.string(), channels: z.array(z.string()) });

/** What a provider report came to: recorded, a duplicate, or kept as rejected with the reason. */
export const ReportResultView = z.union([
  z.object({
    status: z.literal('recorded'),
    kind: z.enum(['bounce', 'complaint']),
    notificationId: z.string(),
    verdict: z.object({ type: z.enum(['hard', 'soft']), class: z.string() }).optional(),
    suppressed: z.boolean(),
  }),
  z.object({ status: z.literal('duplicate'), notificationId: z.string() }),
  z.object({ status: z.literal('rejected'), reason: z.string() }),
]);

/** What a provider posts as JSON instead of mailing an ARF report or a DSN. */
export const ProviderReport = z
  .object({
    type: z.enum(['complaint', 'bounce']),
    notificationId: z.uuid().optional(),
    messageId: z.string().max(998).optional(),
    feedbackType: z.string().max(64).default('abuse'),
    status: z
      .string()
      .regex(/^[245]\.\d{1,3}\.\d{1,3}$/)
      .optional(),
    action: z.enum(['failed', 'delayed']).default('failed'),
    diagnostic: z.string().max(2000).optional(),
    sourceIp: z.string().max(64).optional(),
    /** The complaining recipient; a complaint must name it and it must be the notification's. */
    recipient: z.email().max(254).optional(),
  })
  .strict()
  .refine((r) => r.notificationId || r.messageId, 'notificationId or messageId is required');

export const AlarmView = z.object({
  id: z.string(),
  kind: z.string(),
  severity: z.enum(['warn', 'alarm']),
  scope: z.string(),
  message: z.string(),
  detail: z.record(z.string(), z.unknown()),
  raisedAt: z.string(),
  resolvedAt: z.string().nullable(),
  notifiedAt: z.string().nullable(),
  notifyAttempts: z.number().int(),
});

export const AlarmListQuery = z.object({
  state: z.enum(['open', 'resolved', 'all']).default('open'),
  kind: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
