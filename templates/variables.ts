import type { TypeSpec } from './catalogue.js';
import { TemplateError } from './errors.js';
import { formatMoney, formatTimestamp } from './format.js';

export interface RenderContext {
  tenantName: string;
  unsubscribeUrl?: string;
  timezone?: string;
}

function isMissing(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/** Whether the footer gets an unsubscribe link; marketing without one is refused. */
export function wantsUnsubscribe(type: string, spec: TypeSpec, ctx: RenderContext): boolean {
  const given = !isMissing(ctx.unsubscribeUrl);
  if (!given && spec.requiresUnsubscribe) {
    throw new TemplateError('missing_variable', `missing variable(s) for ${type}: unsubscribeUrl`, {
      type,
      missing: ['unsubscribeUrl'],
    });
  }
  return given;
}

/**
 * Display strings for every variable of a message, unescaped: data fields formatted for the
 * locale, plus `tenantName` and `unsubscribeUrl` from the context. All missing names are
 * reported at once so the caller can fix its payload in one go.
 */
export function buildValues(
  type: string,
  spec: TypeSpec,
  formatLocale: string,
  data: Record<string, unknown>,
  ctx: RenderContext,
): Record<string, string> {
  const missing = spec.fields.filter((field) => isMissing(data[field]));
  if (isMissing(ctx.tenantName)) missing.push('tenantName');
  if (missing.length > 0) {
    throw new TemplateError('missing_variable', `missing variable(s) for ${type}: ${missing.join(', ')}`, {
      type,
      missing,
    });
  }

  const values: Record<string, string> = {};
  for (const field of spec.fields) {
    const value = data[field];
    if (spec.money?.includes(field)) values[field] = formatMoney(value, data.currency, formatLocale);
    else if (spec.timestamps?.includes(field)) values[field] = formatTimestamp(value, formatLocale, ctx.timezone);
    else values[field] = String(value);
  }
  values.tenantName = ctx.tenantName;
  if (!isMissing(ctx.unsubscribeUrl)) values.unsubscribeUrl = ctx.unsubscribeUrl as string;
  return values;
}
