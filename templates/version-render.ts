import { createHash } from 'node:crypto';
import { compileWithPlaceholders } from './compile.js';
import { TemplateError } from './errors.js';
import { formatMoney, formatTimestamp } from './format.js';
import { formattingLocale, pickLocale, resolveLocale, type Locale } from './locale.js';
import { escapeHtml, escapeHtmlMultiline, fillPlaceholders, singleLine } from './substitute.js';
import { builtinLayout } from './builtin-layout.js';
import type { LayoutContent, TemplateVersion, VariableSpec } from './version-types.js';

/**
 * Rendering of a tenant's template version: its content per locale slotted into its pinned layout,
 * with the unsubscribe and preference links placed by the engine (a template cannot forget them).
 * Each (version, locale, links) MJML is compiled once and cached; versions never change.
 */

export interface VersionContext {
  tenantName: string;
  timezone?: string;
  unsubscribeUrl?: string;
  preferencesUrl?: string;
  /** Marketing: refuse to render without an unsubscribe link. */
  requireUnsubscribe?: boolean;
}

export interface RenderedVersionEmail {
  locale: string;
  subject: string;
  html: string;
  text: string;
}

/** Variables every template may use besides its own, filled by the engine. */
export const engineVariables = ['tenantName', 'unsubscribeUrl', 'preferencesUrl'] as const;

// The engine's own link wording, per language (English for any other).
const linkWords: Record<string, { unsubscribe: string; unsubscribeText: string; preferences: string; preferencesText: string }> = {
  en: {
    unsubscribe: 'Unsubscribe',
    unsubscribeText: 'To stop receiving these e-mails: {{unsubscribeUrl}}',
    preferences: 'Notification settings',
    preferencesText: 'Choose what you receive: {{preferencesUrl}}',
  },
  fr: {
    unsubscribe: 'Se désabonner',
    unsubscribeText: 'Pour ne plus recevoir ces e-mails\u00a0: {{unsubscribeUrl}}',
    preferences: 'Gérer mes notifications',
    preferencesText: 'Choisir ce que vous recevez\u00a0: {{preferencesUrl}}',
  },
  de: {
    unsubscribe: 'Abmelden',
    unsubscribeText: 'Um diese E-Mails nicht mehr zu erhalten: {{unsubscribeUrl}}',
    preferences: 'Benachrichtigungen verwalten',
    preferencesText: 'Wählen Sie, was Sie erhalten: {{preferencesUrl}}',
  },
  nl: {
    unsubscribe: 'Afmelden',
    unsubscribeText: 'Wilt u deze e-mails niet meer ontvangen? Meld u af via {{unsubscribeUrl}}',
    preferences: 'Meldingen beheren',
    preferencesText: 'Kies wat u ontvangt: {{preferencesUrl}}',
  },
};

interface Links {
  unsubscribe: boolean;
  preferences: boolean;
}

const linkStyle = 'font-size="12px" line-height="18px" color="#6b7280" padding="0"';
const anchor = (href: string, label: string) => `<a href="{{${href}}}" style="color: #6b7280; text-decoration: underline;">${escapeHtml(label)}</a>`;

function linkParts(locale: string, links: Links): { mjml: string; text: string } {
  const words = linkWords[resolveLocale(locale)] ?? linkWords.en!;
  const html: string[] = [];
  const text: string[] = [];
  if (links.unsubscribe) {
    html.push(anchor('unsubscribeUrl', words.unsubscribe));
    text.push(words.unsubscribeText);
  }
  if (links.preferences) {
    html.push(anchor('preferencesUrl', words.preferences));
    text.push(words.preferencesText);
  }
  return { mjml: html.length ? `<mj-text ${linkStyle}>${html.join(' · ')}</mj-text>` : '', text: text.join('\n') };
}

const SLOT = /\{\{> ([A-Za-z]+)\}\}/g;

function fillSlots(source: string, slots: Record<string, string>, where: string): string {
  return source.replace(SLOT, (_, name: string) => {
    if (!Object.hasOwn(slots, name)) throw new TemplateError('invalid_template', `${where}: unknown slot {{> ${name}}}`);
    return slots[name]!;
  });
}

function localized(map: Record<string, string>, locale: string, defaultLocale: string): string {
  const tag = pickLocale(Object.keys(map), locale, defaultLocale);
  return tag ? map[tag]! : '';
}

function tidyText(text: string): string {
  return `${text
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

export interface VersionSources {
  locale: string;
  mjml: string;
  text: string;
  subject: string;
}

/** The e-mail sources of one locale with only `{{name}}` variables left. */
export function assembleEmail(v: TemplateVersion, wanted: string, links: Links): VersionSources {
  const email = v.content.email ?? {};
  const locale = pickLocale(Object.keys(email), wanted, v.defaultLocale);
  if (!locale) throw new TemplateError('invalid_template', `${v.type} v${v.version} has no e-mail content`);
  const part = email[locale]!;
  const layout: LayoutContent = v.layout?.content ?? builtinLayout();
  const where = `${v.type} v${v.version} ${locale}`;
  const footer = part.footer ?? localized(layout.footer, locale, v.defaultLocale);
  const legal = localized(layout.legal, locale, v.defaultLocale);
  const placed = linkParts(locale, links);
  // A layout without a links slot still gets them, in a section of their own at the end of the body.
  const layoutMjml =
    layout.mjml.includes('{{> links}}') || !placed.mjml
      ? layout.mjml
      : layout.mjml.replace('</mj-body>', '<mj-section><mj-column>{{> links}}</mj-column></mj-section></mj-body>');
  const mjml = fillSlots(
    layoutMjml,
    {
      content: part.mjml,
      lang: escapeHtml(locale),
      subject: escapeHtml(part.subject),
      preheader: escapeHtml(part.preheader ?? ''),
      legal: escapeHtml(legal),
      footer: escapeHtml(footer),
      links: placed.mjml,
      primaryColor: escapeHtml(layout.colors.primary),
      backgroundColor: escapeHtml(layout.colors.background),
      logo: layout.logoUrl
        ? `<mj-image src="${escapeHtml(layout.logoUrl)}" alt="{{tenantName}}" width="140px" align="left" padding="0" />`
        : '<mj-text color="#ffffff" font-size="18px" font-weight="600" padding="0">{{tenantName}}</mj-text>',
    },
    where,
  );
  const textLayout = layout.text.includes('{{> links}}') ? layout.text : `${layout.text}\n{{> links}}`;
  const text = tidyText(
    fillSlots(
      textLayout,
      {
        content: part.text ?? '',
        legal,
        footer,
        links: placed.text,
        lang: locale,
        subject: part.subject,
        preheader: part.preheader ?? '',
        primaryColor: '',
        backgroundColor: '',
        logo: '',
      },
      where,
    ),
  );
  return { locale, mjml, text, subject: part.subject };
}

// Promises, so concurrent first renders share one compilation. Bounded: the oldest go first.
function boundedCache<V>(max: number) {
  const map = new Map<string, Promise<V>>();
  return (key: string, make: () => Promise<V>): Promise<V> => {
    let entry = map.get(key);
    if (!entry) {
      entry = make();
      if (map.size >= max) map.delete(map.keys().next().value as string);
      map.set(key, entry);
      void entry.catch(() => map.delete(key));
    }
    return entry;
  };
}

// Compiled HTML by the MJML it came from: tenants that share content (the seeded defaults: the
// tenant name is a placeholder) share one compilation.
const byMjml = boundedCache<string>(2000);
const perVersion = boundedCache<{ locale: string; html: string; text: string; subject: string }>(5000);

function compileOnce(mjml: string, where: string): Promise<string> {
  return byMjml(createHash('sha1').update(mjml).digest('base64'), () => compileWithPlaceholders(mjml, where));
}

function compiledEmail(v: TemplateVersion, wanted: string, links: Links) {
  const key = `${v.tenantId}|${v.type}|${v.version}|${wanted}|${v.defaultLocale}|${links.unsubscribe ? 'u' : '-'}${links.preferences ? 'p' : '-'}`;
  return perVersion(key, async () => {
    const sources = assembleEmail(v, wanted, links);
    const html = await compileOnce(sources.mjml, `${v.type} v${v.version} ${sources.locale}`);
    return { locale: sources.locale, html, text: sources.text, subject: sources.subject };
  });
}

function isMissing(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

/** Display strings for every variable, formatted for the locale; every missing required one is named at once. */
export function versionValues(v: TemplateVersion, formatLocale: string, data: Record<string, unknown>, ctx: VersionContext): Record<string, string> {
  const missing = Object.entries(v.variables)
    .filter(([name, spec]) => spec.required && isMissing(data[name]))
    .map(([name]) => name);
  if (isMissing(ctx.tenantName)) missing.push('tenantName');
  if (missing.length)
    throw new TemplateError('missing_variable', `missing variable(s) for ${v.type}: ${missing.join(', ')}`, { type: v.type, missing });
  const values: Record<string, string> = {};
  for (const [name, spec] of Object.entries(v.variables)) values[name] = formatValue(spec, data[name], data, formatLocale, ctx.timezone);
  values.tenantName = ctx.tenantName;
  if (!isMissing(ctx.unsubscribeUrl)) values.unsubscribeUrl = ctx.unsubscribeUrl!;
  if (!isMissing(ctx.preferencesUrl)) values.preferencesUrl = ctx.preferencesUrl!;
  return values;
}

function formatValue(spec: VariableSpec, value: unknown, data: Record<string, unknown>, locale: string, timezone?: string): string {
  if (isMissing(value)) return '';
  switch (spec.type) {
    case 'money':
      return formatMoney(value, data.currency ?? '', locale);
    case 'datetime':
      return formatTimestamp(value, locale, timezone);
    case 'number':
      return typeof value === 'number' ? new Intl.NumberFormat(locale).format(value) : String(value);
    default:
      return String(value);
  }
}

function htmlValues(v: TemplateVersion, values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([k, s]) => [k, v.variables[k]?.multiline ? escapeHtmlMultiline(s) : escapeHtml(s)]));
}

function links(ctx: VersionContext, v: TemplateVersion): Links {
  const unsubscribe = !isMissing(ctx.unsubscribeUrl);
  if (!unsubscribe && ctx.requireUnsubscribe) {
    throw new TemplateError('missing_variable', `missing variable(s) for ${v.type}: unsubscribeUrl`, { type: v.type, missing: ['unsubscribeUrl'] });
  }
  return { unsubscribe, preferences: !isMissing(ctx.preferencesUrl) };
}

/** The e-mail of version `v` for a user asking for locale `wanted`. */
export async function renderVersionEmail(
  v: TemplateVersion,
  wanted: string,
  data: Record<string, unknown>,
  ctx: VersionContext,
): Promise<RenderedVersionEmail> {
  const l = links(ctx, v);
  const c = await compiledEmail(v, wanted, l);
  const values = versionValues(v, formatLocaleFor(wanted, c.locale), data, ctx);
  return {
    locale: c.locale,
    subject: singleLine(fillPlaceholders(c.subject, values)),
    html: fillPlaceholders(c.html, htmlValues(v, values)),
    text: fillPlaceholders(c.text, values),
  };
}

// Lock screens cut around these lengths anyway; cutting here keeps a word boundary and an ellipsis.
const maxTitle = 65;
const maxBody = 240;

function shorten(text: string, max: number): string {
  const chars = Array.from(text); // code points, so an emoji is never split in half
  if (chars.length <= max) return text;
  const cut = chars.slice(0, max - 1).join('');
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function renderVersionPush(
  v: TemplateVersion,
  wanted: string,
  data: Record<string, unknown>,
  ctx: VersionContext,
): { locale: string; title: string; body: string } {
  const push = v.content.push ?? {};
  const locale = pickLocale(Object.keys(push), wanted, v.defaultLocale);
  if (!locale) throw new TemplateError('invalid_template', `${v.type} v${v.version} has no push content`);
  const values = versionValues(v, formatLocaleFor(wanted, locale), data, ctx);
  return {
    locale,
    title: shorten(singleLine(fillPlaceholders(push[locale]!.title, values)), maxTitle),
    body: shorten(fillPlaceholders(push[locale]!.body, values).trim(), maxBody),
  };
}

/** Numbers and dates follow the user's own tag when it is of the content's language (`fr-BE` reading `fr`). */
export function formatLocaleFor(wanted: string, contentLocale: string): string {
  const language = contentLocale.split('-')[0]!.toLowerCase();
  return formattingLocale(wanted, language as Locale);
}
