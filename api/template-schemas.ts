import { z } from '@hono/zod-openapi';
import { channels } from '../domain/notifications/status.js';
import { weekdays } from '../lib/digest-spec.js';
import { keyedRecord } from './contract.js';
import { LAYOUT_SLOTS } from '../domain/templates/layouts.js';

/** Request and response schemas of the categories, notification types, versions and layouts routes. */

/** Version numbers are Postgres integers. */
const PG_INT_MAX = 2_147_483_647;

export const Channel = z.enum(channels);
const Kind = z.enum(['required', 'service', 'marketing']);
const LocaleKey = z
  .string()
  .min(2)
  .max(35)
  .regex(/^[A-Za-z0-9-]+$/, 'a BCP 47 language tag such as fr or fr-BE');

export const CategoryKey = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, 'category keys are 1-64 lower-case letters, digits and _ . -');
export const TypeKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'type keys are 1-64 letters, digits and _ . -');

export const CategoryBody = z
  .object({
    kind: Kind.describe('required: always reaches the user; service: follows preferences; marketing: only with a recorded opt-in'),
    defaultChannels: z
      .array(Channel)
      .max(2)
      .refine((a) => new Set(a).size === a.length, 'channels must be unique')
      .openapi({ uniqueItems: true }),
    allowFallback: z.boolean().default(true).describe('may use the other channel when the chosen one fails for good'),
    label: keyedRecord(LocaleKey, z.string().min(1).max(200)).default({}).describe('display name per locale'),
  })
  .strict()
  .openapi('CategoryBody');

export const CategoryView = z
  .object({ key: z.string(), kind: Kind, defaultChannels: z.array(Channel), allowFallback: z.boolean(), label: z.record(z.string(), z.string()) })
  .openapi('Category');

const VariableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/, 'variable names are letters, digits and _, not starting with a digit');
export const VariableSpec = z
  .object({
    type: z.enum(['string', 'number', 'money', 'datetime', 'url']).describe('money is shown in data.currency; datetime is ISO 8601 with an offset'),
    required: z.boolean().default(true),
    multiline: z.boolean().optional().describe('line breaks kept (as <br /> in HTML)'),
  })
  .strict();

const MAX_WINDOW_S = 31 * 86_400;
export const DigestBody = z
  .object({
    key: VariableName.optional().describe('a `data` field whose value splits the digests of a user (one per value)'),
    window: z
      .object({
        mode: z.enum(['fixed', 'sliding']).describe('fixed: from the first item; sliding: from the latest, up to maxSeconds after the first'),
        seconds: z.number().int().min(1).max(MAX_WINDOW_S),
        maxSeconds: z.number().int().min(1).max(MAX_WINDOW_S).optional(),
      })
      .strict()
      .optional(),
    schedule: z
      .object({
        every: z.enum(['day', 'week']),
        at: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'at is HH:MM, 24 h, on the user clock'),
        weekday: z.enum(weekdays).optional(),
      })
      .strict()
      .optional(),
    maxItems: z.number().int().min(2).max(10_000).optional().describe('the digest goes early once this many items wait'),
    firstImmediately: z.boolean().optional().describe("a window's first item goes at once, the rest in the digest"),
    list: z
      .object({ show: z.enum(['first', 'last']), count: z.number().int().min(1).max(100) })
      .strict()
      .optional()
      .describe('items the message lists (default the last 10); count and totals cover all'),
  })
  .strict()
  .refine((d) => (d.window ? 1 : 0) + (d.schedule ? 1 : 0) === 1, 'a digest has exactly one of window and schedule')
  .refine(
    (d) => !d.schedule || (d.schedule.every === 'week') === (d.schedule.weekday !== undefined),
    'schedule.weekday goes with every "week", and only with it',
  )
  .refine((d) => !d.window?.maxSeconds || d.window.maxSeconds >= d.window.seconds, 'window.maxSeconds must be at least window.seconds')
  .openapi('DigestDeclaration');

export const TypeBody = z
  .object({
    category: CategoryKey,
    variables: keyedRecord(VariableName, VariableSpec).refine((v) => Object.keys(v).length <= 50, 'at most 50 variables'),
    digest: DigestBody.nullable().optional().describe('batch this type into digests (absent or null: each notification goes on its own)'),
  })
  .strict()
  .openapi('NotificationTypeBody');

export const TypeView = z
  .object({
    type: z.string(),
    category: z.string(),
    variables: z.record(z.string(), z.object({ type: z.string(), required: z.boolean(), multiline: z.boolean().optional() })),
    publishedVersion: z.number().int().nullable().describe('the version that sends; null until one is published'),
    digest: DigestBody.nullable(),
  })
  .openapi('NotificationType');

const EmailPart = z
  .object({
    subject: z.string().min(1).max(500),
    mjml: z.string().min(1).max(60_000).describe('MJML body, slotted into the layout inside an mj-column'),
    text: z.string().max(60_000).optional().describe('plain-text part; generated from the HTML when absent'),
    preheader: z.string().max(500).optional(),
    footer: z.string().max(1000).optional().describe("replaces the layout's footer line"),
  })
  .strict();
const PushPart = z.object({ title: z.string().min(1).max(200), body: z.string().min(1).max(2000) }).strict();

const DigestPart = z
  .object({
    email: keyedRecord(LocaleKey, EmailPart).optional(),
    push: keyedRecord(LocaleKey, PushPart).optional(),
    item: keyedRecord(LocaleKey, z.string().min(1).max(500)).optional().describe("one item's line, in the type's variables"),
  })
  .strict()
  .describe("the digest's message: itemCount, items, totals, moreCount besides tenantName; the engine's wording when absent");

export const VersionBody = z
  .object({
    email: keyedRecord(LocaleKey, EmailPart).optional(),
    push: keyedRecord(LocaleKey, PushPart).optional(),
    digest: DigestPart.optional(),
    layout: z.number().int().positive().max(PG_INT_MAX).optional().describe('layout version to pin; the newest published one when absent'),
  })
  .strict()
  .openapi('TemplateVersionBody');

export const SpamReport = z
  .object({
    score: z.number(),
    verdict: z.enum(['ok', 'review', 'likely-spam']),
    findings: z.array(z.object({ rule: z.string(), text: z.string(), where: z.string(), advice: z.string(), score: z.number() })),
    spamassassin: z.object({ score: z.number(), threshold: z.number(), rules: z.array(z.string()) }).optional(),
  })
  .openapi('SpamReport');

export const VersionCreated = z
  .object({
    version: z.number().int(),
    status: z.literal('draft'),
    layoutVersion: z.number().int().nullable(),
    checks: z.object({ generatedText: z.array(z.string()).describe('locales whose text part was generated from the HTML'), spam: SpamReport }),
    spam: SpamReport,
  })
  .openapi('TemplateVersionCreated');

export const VersionList = z
  .object({
    type: z.string(),
    publishedVersion: z.number().int().nullable(),
    versions: z.array(
      z.object({
        version: z.number().int(),
        status: z.enum(['published', 'draft', 'retired']),
        createdAt: z.string(),
        publishedAt: z.string().nullable(),
        forced: z.boolean(),
        layoutVersion: z.number().int().nullable(),
        spam: z.object({ score: z.number(), verdict: z.string() }).nullable(),
      }),
    ),
  })
  .openapi('TemplateVersions');

export const PublishBody = z
  .object({ force: z.boolean().default(false).describe('publish although the spam check says likely-spam (recorded)') })
  .strict();
export const Published = z.object({
  type: z.string(),
  version: z.number().int(),
  status: z.literal('published'),
  previous: z.number().int().nullable(),
  publishedAt: z.string(),
  forced: z.boolean(),
});

const Data = z
  .record(z.string().max(64), z.union([z.string().max(2000), z.number(), z.boolean()]))
  .refine((d) => Object.keys(d).length <= 50, 'at most 50 fields');
export const PreviewBody = z
  .object({
    version: z.number().int().positive().max(PG_INT_MAX).optional().describe('default: the published version, else the newest'),
    locale: LocaleKey,
    data: Data,
    digestItems: z.array(Data).min(1).max(1000).optional().describe("preview the digest of these items' data instead (data is then ignored)"),
  })
  .strict()
  .openapi('PreviewBody');

export const PreviewView = z
  .object({
    type: z.string(),
    version: z.number().int(),
    email: z.object({ locale: z.string(), subject: z.string(), html: z.string(), text: z.string() }).nullable(),
    push: z.object({ locale: z.string(), title: z.string(), body: z.string() }).nullable(),
    spam: SpamReport,
  })
  .openapi('Preview');

export const TestSendBody = z
  .object({
    ...PreviewBody.shape,
    to: z.email().max(254).describe("one of the tenant's confirmed test recipients (POST /v1/test-recipients)"),
    force: z.boolean().default(false).describe('send a version the spam check calls likely-spam (recorded in the audit)'),
  })
  .strict()
  .openapi('TestSendBody');

export const TestRecipientBody = z
  .object({ email: z.email().max(254) })
  .strict()
  .openapi('TestRecipientBody');
export const TestRecipientConfirmBody = z
  .object({ code: z.string().regex(/^\s*\d{8}\s*$/, 'the 8-digit code from the confirmation message') })
  .strict()
  .openapi('TestRecipientConfirmBody');
export const TestRecipientView = z
  .object({
    id: z.uuid(),
    email: z.string(),
    status: z.enum(['pending', 'confirmed']).describe('pending: the code mailed to it has not been given back yet'),
    createdAt: z.string(),
    confirmedAt: z.string().nullable(),
  })
  .openapi('TestRecipient');
export const TestSendAccepted = z.object({ id: z.uuid(), version: z.number().int(), status: z.string() });

/**
 * What the layout check (domain/templates/layouts.ts) refuses, stated for the document: exactly one
 * {{> content}} slot, and no slot but the known ones. The check itself gives each its own message.
 */
const ONE_CONTENT_SLOT = {
  allOf: [{ pattern: '\\{\\{> content\\}\\}' }],
  not: {
    anyOf: [
      { pattern: '\\{\\{> content\\}\\}[\\s\\S]*\\{\\{> content\\}\\}' },
      { pattern: `\\{\\{> (?!(?:${[...LAYOUT_SLOTS].join('|')})\\}\\})[A-Za-z]+\\}\\}` },
    ],
  },
} as never;

export const LayoutBody = z
  .object({
    mjml: z
      .string()
      .min(1)
      .max(60_000)
      .describe('MJML with exactly one {{> content}} slot; {{> links}} places the unsubscribe and preference links (else they go at the end)')
      .openapi(ONE_CONTENT_SLOT),
    text: z.string().min(1).max(20_000).describe('text layout with exactly one {{> content}} slot').openapi(ONE_CONTENT_SLOT),
    logoUrl: z.url().max(2000).nullable().optional(),
    colors: z.object({ primary: z.string().regex(/^#[0-9a-fA-F]{3,8}$/), background: z.string().regex(/^#[0-9a-fA-F]{3,8}$/) }).strict(),
    footer: keyedRecord(LocaleKey, z.string().max(1000)).default({}),
    legal: keyedRecord(LocaleKey, z.string().max(2000)).default({}),
    publish: z.boolean().default(false).describe('make it the layout new template versions pin'),
  })
  .strict()
  .openapi('LayoutBody');

export const LayoutCreated = z.object({ version: z.number().int(), publishedAt: z.string().nullable() });
export const LayoutList = z.object({
  layouts: z.array(z.object({ version: z.number().int(), createdAt: z.string(), publishedAt: z.string().nullable() })),
});

export const VersionView = z
  .object({
    version: z.number().int(),
    content: z.object({
      email: z
        .record(
          z.string(),
          z.object({
            subject: z.string(),
            mjml: z.string(),
            text: z.string().optional(),
            preheader: z.string().optional(),
            footer: z.string().optional(),
          }),
        )
        .optional(),
      push: z.record(z.string(), z.object({ title: z.string(), body: z.string() })).optional(),
    }),
    variables: z.record(z.string(), z.object({ type: z.string(), required: z.boolean(), multiline: z.boolean().optional() })),
    layoutVersion: z.number().int().nullable(),
    createdAt: z.string(),
    publishedAt: z.string().nullable(),
  })
  .openapi('TemplateVersion');
