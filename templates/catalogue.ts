import { TemplateError } from './errors.js';

export interface TypeSpec {
  category: string;
  /** Required keys of `data`; every one must be present and non-empty. */
  fields: readonly string[];
  /** Fields formatted as money in the currency given by `data.currency`. */
  money?: readonly string[];
  /** Fields formatted as a date and time when they hold an ISO timestamp. */
  timestamps?: readonly string[];
  /** Plain-text fields whose line breaks are kept in html (only used in body text, never in attributes). */
  multiline?: readonly string[];
  /** Marketing mail must carry an unsubscribe link (ePrivacy, Gmail/Yahoo bulk-sender rules). */
  requiresUnsubscribe?: boolean;
}

const specs: Record<string, TypeSpec> = {
  'account.transaction': {
    category: 'transactions',
    fields: ['amount', 'currency', 'merchant', 'accountLast4'],
    money: ['amount'],
  },
  'account.low_balance': {
    category: 'balance',
    fields: ['balance', 'currency', 'threshold'],
    money: ['balance', 'threshold'],
  },
  'security.new_device': {
    category: 'security',
    fields: ['device', 'city', 'at'],
    timestamps: ['at'],
  },
  // headline: one line, used as subject, heading and push title.
  // body: plain text; line breaks are kept (<br /> in html), blank lines separate paragraphs.
  'marketing.newsletter': {
    category: 'marketing',
    fields: ['headline', 'body'],
    multiline: ['body'],
    requiresUnsubscribe: true,
  },
};

/**
 * The template catalogue: each type the templates render -> its category and required data
 * fields (the API validates `data` with it before starting anything). A tenant's own list of
 * types it may trigger is the `notification_types` table, provisioned from this catalogue.
 */
export const templateCatalogue: Record<string, { category: string; fields: readonly string[] }> = Object.freeze(
  Object.fromEntries(
    Object.entries(specs).map(([type, spec]) => [type, Object.freeze({ category: spec.category, fields: Object.freeze([...spec.fields]) })]),
  ),
);

export const typeNames: readonly string[] = Object.freeze(Object.keys(specs));

/** Variables every template may use besides its data fields, filled from the RenderContext. */
export const contextVariables = ['tenantName', 'unsubscribeUrl'] as const;

export function getTypeSpec(type: string): TypeSpec {
  // hasOwn: `type` comes from API input, so `toString` or `__proto__` must not resolve.
  const spec = Object.hasOwn(specs, type) ? specs[type] : undefined;
  if (!spec) throw new TemplateError('unknown_type', `unknown notification type: ${JSON.stringify(type)}`, { type });
  return spec;
}
