// Mailbox-provider rules are data (config/provider-rules.json, JSON with comments), validated
// here once at start: a malformed file is refused with the line and field at fault, so the
// engine never runs half-configured.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findNodeAtLocation, parse, parseTree, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { z } from 'zod';

const units = { s: 1_000, second: 1_000, m: 60_000, minute: 60_000, h: 3_600_000, hour: 3_600_000, d: 86_400_000, day: 86_400_000 } as const;

/** "10/minute", "100/s", "2000/hour" -> at most `count` messages in any `perMs` window. */
const Rate = z
  .string()
  .regex(/^\d+\/(s|second|m|minute|h|hour|d|day)$/, 'expected "<count>/<s|minute|hour|day>", e.g. "10/minute"')
  .transform((v) => {
    const [count, unit] = v.split('/') as [string, keyof typeof units];
    return { count: Number(count), perMs: units[unit] };
  })
  .refine((r) => r.count > 0, 'the count must be positive');

/** "30s", "90m", "2h", "1d". */
const Duration = z
  .string()
  .regex(/^\d+(s|m|h|d)$/, 'expected a duration such as "30s", "90m", "2h"')
  .transform((v) => Number(v.slice(0, -1)) * units[v.slice(-1) as 's' | 'm' | 'h' | 'd']);

const Regex = z
  .string()
  .min(1)
  .refine((v) => {
    try {
      new RegExp(v, 'i');
      return true;
    } catch {
      return false;
    }
  }, 'not a valid regular expression');

const Limits = z.strictObject({
  connectionsPerIp: z.number().int().positive().optional(),
  messagesPerConnection: z.number().int().positive().optional(),
  messageRate: Rate.optional(),
});

const ResponseRule = z
  .strictObject({
    id: z.string().min(1),
    regex: Regex,
    trigger: z.union([z.literal('immediate'), z.strictObject({ perHour: z.number().int().positive() })]),
    /** suspend: this IP for this provider; throttle: this IP x provider at `throttleRate`; holdTenant: the tenant's mail to this provider. */
    action: z.enum(['suspend', 'throttle', 'holdTenant']),
    throttleRate: Rate.optional(),
    duration: Duration,
  })
  .refine((r) => r.action !== 'throttle' || r.throttleRate, { message: 'a throttle rule needs throttleRate', path: ['throttleRate'] });

const Provider = z.strictObject({
  name: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes'),
  /** No published numbers: conservative values of our own. */
  unpublished: z.boolean().optional(),
  /** STARTTLS required, the MX host's certificate checked against its name; no plaintext fallback. */
  requireTLS: z.boolean().optional(),
  match: z.strictObject({
    mxSuffix: z.array(z.string().min(2)).default([]),
    domainSuffix: z.array(z.string().min(2)).default([]),
  }),
  limits: Limits.default({}),
  responses: z.array(ResponseRule).default([]),
});

export const ProviderRulesSchema = z
  .strictObject({
    version: z.literal(1),
    defaults: z.strictObject({
      connectionsPerIp: z.number().int().positive(),
      messagesPerConnection: z.number().int().positive(),
      messageRate: Rate,
    }),
    reputation: z.strictObject({
      halfLifeMinutes: z.number().positive(),
      windowHours: z.number().positive(),
      /** Good outcomes assumed before any are seen: a new IP starts near 100 and needs a few events to move. */
      priorGood: z.number().nonnegative(),
      /** Below this score an IP's share drops and its state reads "throttled". */
      norm: z.number().min(0).max(100),
      /** Below this score (with at least minEvents outcomes) an IP is quarantined: no traffic until bad outcomes decay. */
      quarantineBelow: z.number().min(0).max(100),
      minEvents: z.number().int().nonnegative(),
    }),
    warmup: z.strictObject({ dailyCaps: z.array(z.number().int().positive()).min(1) }),
    defaultResponses: z.array(ResponseRule).default([]),
    providers: z.array(Provider),
  })
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    r.providers.forEach((p, i) => {
      if (seen.has(p.name) || p.name === 'other')
        ctx.addIssue({ code: 'custom', message: `duplicate or reserved provider name "${p.name}"`, path: ['providers', i, 'name'] });
      seen.add(p.name);
    });
  });

export type ProviderRules = z.output<typeof ProviderRulesSchema>;
export type ProviderRulesInput = z.input<typeof ProviderRulesSchema>;
export type ResponseRule = z.output<typeof ResponseRule>;
export type ProviderRule = z.output<typeof Provider>;
export type RateLimit = { count: number; perMs: number };

export class RulesFileError extends Error {
  constructor(readonly problems: string[]) {
    super(`Provider rules refused:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'RulesFileError';
  }
}

export const defaultRulesPath = fileURLToPath(new URL('../../config/provider-rules.json', import.meta.url));

/** Reads and validates a rules file; throws RulesFileError naming `file:line` and the field. */
export function loadProviderRules(path: string = defaultRulesPath): ProviderRules {
  return parseProviderRules(readFileSync(path, 'utf8'), path);
}

export function parseProviderRules(text: string, source = 'provider-rules.json'): ProviderRules {
  const lineOf = (offset: number) => text.slice(0, offset).split('\n').length;
  const errors: ParseError[] = [];
  const data: unknown = parse(text, errors, { allowTrailingComma: false, disallowComments: false });
  if (errors.length > 0) {
    throw new RulesFileError(errors.map((e) => `${source}:${lineOf(e.offset)}: syntax error: ${printParseErrorCode(e.error)}`));
  }
  const result = ProviderRulesSchema.safeParse(data);
  if (result.success) return result.data;
  const tree = parseTree(text);
  throw new RulesFileError(
    result.error.issues.map((issue) => {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      // The deepest node that exists: a missing field is reported at its parent object.
      let node = tree && findNodeAtLocation(tree, path);
      for (let n = path.length - 1; !node && tree && n >= 0; n--) node = findNodeAtLocation(tree, path.slice(0, n));
      const field =
        path
          .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
          .join('')
          .replace(/^\./, '') || '(root)';
      return `${source}:${node ? lineOf(node.offset) : 1}: ${field}: ${issue.message}`;
    }),
  );
}

/** Builds validated rules from an object (tests write their own, with short windows). */
export function providerRules(input: ProviderRulesInput): ProviderRules {
  return parseProviderRules(JSON.stringify(input, null, 2), 'inline rules');
}

export interface EffectiveLimits {
  connectionsPerIp: number;
  messagesPerConnection: number;
  messageRate: RateLimit;
}

export function limitsFor(rules: ProviderRules, provider: string): EffectiveLimits {
  const p = rules.providers.find((x) => x.name === provider);
  return { ...rules.defaults, ...p?.limits } as EffectiveLimits;
}

/** The response rules that apply to a provider: the defaults first, then its own. */
export function responseRulesFor(rules: ProviderRules, provider: string): ResponseRule[] {
  return [...rules.defaultResponses, ...(rules.providers.find((x) => x.name === provider)?.responses ?? [])];
}

/** Whether mail to this provider must go over STARTTLS with a verified certificate. */
export function requiresTls(rules: ProviderRules, provider: string): boolean {
  return rules.providers.find((x) => x.name === provider)?.requireTLS === true;
}
