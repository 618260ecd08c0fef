import { TemplateError } from './errors.js';
import { formatMoney } from './format.js';
import { pickLocale } from './locale.js';
import { fillPlaceholders, singleLine } from './substitute.js';
import {
  formatLocaleFor,
  renderVersionEmail,
  renderVersionPush,
  versionValues,
  type RenderedVersionEmail,
  type VersionContext,
} from './version-render.js';
import type { DigestContent, TemplateVersion, VariableSpec } from './version-types.js';

// A digest's message: the version's digest content (or the engine's default wording) rendered
// like any version, with the digest variables filled from its items. Items render one line each
// in the type's own variables; the list shows the first or last N, the count and totals cover all.

/** What a digest's content may use besides tenantName and the links. */
export const digestVariables: Record<string, VariableSpec> = {
  itemCount: { type: 'number', required: true },
  items: { type: 'string', required: true, multiline: true },
  totals: { type: 'string', required: false },
  moreCount: { type: 'number', required: false },
};

const defaults: DigestContent = {
  email: {
    en: {
      subject: '{{itemCount}} updates from {{tenantName}}',
      mjml: '<mj-text font-size="16px">{{itemCount}} updates since the last summary.</mj-text><mj-text>{{items}}</mj-text><mj-text>{{totals}}</mj-text>',
      text: '{{itemCount}} updates since the last summary.\n\n{{items}}\n\n{{totals}}',
    },
    fr: {
      subject: '{{itemCount}} nouveautés de {{tenantName}}',
      mjml: '<mj-text font-size="16px">{{itemCount}} nouveautés depuis le dernier récapitulatif.</mj-text><mj-text>{{items}}</mj-text><mj-text>{{totals}}</mj-text>',
      text: '{{itemCount}} nouveautés depuis le dernier récapitulatif.\n\n{{items}}\n\n{{totals}}',
    },
    de: {
      subject: '{{itemCount}} Neuigkeiten von {{tenantName}}',
      mjml: '<mj-text font-size="16px">{{itemCount}} Neuigkeiten seit der letzten Übersicht.</mj-text><mj-text>{{items}}</mj-text><mj-text>{{totals}}</mj-text>',
      text: '{{itemCount}} Neuigkeiten seit der letzten Übersicht.\n\n{{items}}\n\n{{totals}}',
    },
    nl: {
      subject: '{{itemCount}} berichten van {{tenantName}}',
      mjml: '<mj-text font-size="16px">{{itemCount}} berichten sinds het laatste overzicht.</mj-text><mj-text>{{items}}</mj-text><mj-text>{{totals}}</mj-text>',
      text: '{{itemCount}} berichten sinds het laatste overzicht.\n\n{{items}}\n\n{{totals}}',
    },
  },
  push: {
    en: { title: '{{itemCount}} updates', body: '{{items}}' },
    fr: { title: '{{itemCount}} nouveautés', body: '{{items}}' },
    de: { title: '{{itemCount}} Neuigkeiten', body: '{{items}}' },
    nl: { title: '{{itemCount}} berichten', body: '{{items}}' },
  },
};

const moreWords: Record<string, string> = { en: '… and {{n}} more', fr: '… et {{n}} de plus', de: '… und {{n}} weitere', nl: '… en nog {{n}}' };

export interface DigestList {
  show: 'first' | 'last';
  count: number;
}

/** The version a digest renders with: the digest content as its channels, the digest variables as its own. */
export function digestVersion(v: TemplateVersion): TemplateVersion {
  const content = v.content.digest ?? {};
  return {
    ...v,
    // Its own cache key: the compiled digest never mixes with the type's own message.
    type: `${v.type}#digest`,
    content: { email: content.email ?? defaults.email, push: content.push ?? defaults.push },
    variables: digestVariables,
  };
}

/** One item's line, in the type's variables: the version's `item` line, else its push body, else its e-mail subject. */
function itemLine(v: TemplateVersion, wanted: string, data: Record<string, unknown>, ctx: VersionContext): string {
  const own = v.content.digest?.item ?? {};
  const source =
    Object.keys(own).length > 0
      ? own
      : Object.keys(v.content.push ?? {}).length > 0
        ? Object.fromEntries(Object.entries(v.content.push!).map(([l, p]) => [l, p.body]))
        : Object.fromEntries(Object.entries(v.content.email ?? {}).map(([l, e]) => [l, e.subject]));
  const locale = pickLocale(Object.keys(source), wanted, v.defaultLocale);
  if (!locale) throw new TemplateError('invalid_template', `${v.type} v${v.version} has no digest item line`);
  return singleLine(fillPlaceholders(source[locale]!, versionValues(v, formatLocaleFor(wanted, locale), data, ctx)));
}

/** Sums of the type's first money variable per currency over all items, e.g. "42,50 € · 12,00 $US". */
function totals(v: TemplateVersion, items: readonly Record<string, unknown>[], locale: string): string {
  const money = Object.entries(v.variables).find(([, spec]) => spec.type === 'money')?.[0];
  if (!money) return '';
  // In millionths, so sums of decimal amounts do not drift.
  const sums = new Map<string, bigint>();
  for (const data of items) {
    const amount = Number(data[money]);
    const currency = String(data.currency ?? '');
    if (!Number.isFinite(amount) || !currency) continue;
    sums.set(currency, (sums.get(currency) ?? 0n) + BigInt(Math.round(amount * 1e6)));
  }
  return [...sums.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([currency, sum]) => formatMoney(Number(sum) / 1e6, currency, locale))
    .join(' · ');
}

/** The digest variables for a user of locale `wanted`. */
export function digestData(
  v: TemplateVersion,
  wanted: string,
  items: readonly Record<string, unknown>[],
  list: DigestList,
  ctx: VersionContext,
): Record<string, unknown> {
  const shown = list.show === 'first' ? items.slice(0, list.count) : items.slice(-list.count);
  const lines = shown.map((data) => `• ${itemLine(v, wanted, data, ctx)}`);
  const more = items.length - shown.length;
  if (more > 0) {
    const language = wanted.split('-')[0]!.toLowerCase();
    lines.push((moreWords[language] ?? moreWords.en!).replace('{{n}}', String(more)));
  }
  const emailLocale = pickLocale(Object.keys(digestVersion(v).content.email ?? {}), wanted, v.defaultLocale) ?? 'en';
  return { itemCount: items.length, items: lines.join('\n'), totals: totals(v, items, formatLocaleFor(wanted, emailLocale)), moreCount: more };
}

export async function renderDigestEmail(
  v: TemplateVersion,
  wanted: string,
  items: readonly Record<string, unknown>[],
  list: DigestList,
  ctx: VersionContext,
): Promise<RenderedVersionEmail> {
  return renderVersionEmail(digestVersion(v), wanted, digestData(v, wanted, items, list, ctx), ctx);
}

export function renderDigestPush(
  v: TemplateVersion,
  wanted: string,
  items: readonly Record<string, unknown>[],
  list: DigestList,
  ctx: VersionContext,
): { locale: string; title: string; body: string } {
  return renderVersionPush(digestVersion(v), wanted, digestData(v, wanted, items, list, ctx), ctx);
}
