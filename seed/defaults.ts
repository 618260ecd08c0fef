import { readdirSync, readFileSync } from 'node:fs';
import { builtinLayout } from '../templates/builtin-layout.js';
import { locales, type Locale } from '../templates/locale.js';
import { escapeHtml } from '../templates/substitute.js';
import type { LayoutContent, VariableSpec, VersionContent } from '../templates/version-types.js';

/**
 * Seed data: what every new tenant starts with, read only by seedTenantDefaults (db/seed.ts), which
 * stores it as the tenant's own rows (version 1 of each type, published), to change as it likes.
 * Nothing renders from these files: mail is rendered from the stored versions.
 *
 *   templates/<type>/type.json                 { "category", "variables" }
 *   templates/<type>/email.mjml, email.txt     the body, with `{{t.key}}` strings and `{{name}}` variables
 *   templates/<type>/<locale>.json             every string of the type in one language
 *   templates/shared/<locale>.json             strings every type may use (`colon`)
 *
 * `{{t.key}}` is replaced by the locale's string (HTML-escaped in MJML) when the version is built;
 * `{{name}}` stays, for the renderer to fill per message.
 */
const root = new URL('./templates/', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

type Messages = Record<string, string>;

function messages(folder: string, locale: Locale): Messages {
  const parsed = JSON.parse(read(`${folder}/${locale}.json`)) as unknown;
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string'))
    throw new Error(`seed ${folder}/${locale}.json must map keys to strings`);
  return parsed as Messages;
}

/** Every locale translates exactly the keys English has: a forgotten string fails the seed, not a mail. */
function translations(folder: string): Record<Locale, Messages> {
  const all = Object.fromEntries(locales.map((l) => [l, messages(folder, l)])) as Record<Locale, Messages>;
  const reference = Object.keys(all.en).sort().join();
  for (const l of locales)
    if (Object.keys(all[l]).sort().join() !== reference) throw new Error(`seed ${folder}/${l}.json has other keys than ${folder}/en.json`);
  return all;
}

const MESSAGE = /\{\{t\.([A-Za-z0-9_]+)\}\}/g;

function expand(source: string, strings: Messages, encode: (s: string) => string, where: string): string {
  if (source.includes('{{#')) throw new Error(`seed ${where}: blocks are not taken; the engine places the unsubscribe link`);
  return source.replace(MESSAGE, (_, key: string) => {
    if (!Object.hasOwn(strings, key)) throw new Error(`seed ${where}: no string "${key}"`);
    return encode(strings[key]!);
  });
}

/** The default types, by their folder names. */
export const defaultTypes: readonly string[] = readdirSync(root, { withFileTypes: true })
  .filter((e) => e.isDirectory() && e.name !== 'shared')
  .map((e) => e.name)
  .sort();

export interface DefaultType {
  category: string;
  variables: Record<string, VariableSpec>;
  content: VersionContent;
}

/** Version 1 of a default type: its category, declared variables, and e-mail and push text in every locale. */
export function defaultType(type: string): DefaultType {
  if (!defaultTypes.includes(type)) throw new Error(`no seed type ${type}`);
  const spec = JSON.parse(read(`${type}/type.json`)) as Omit<DefaultType, 'content'>;
  const shared = translations('shared');
  const own = translations(type);
  const email: NonNullable<VersionContent['email']> = {};
  const push: NonNullable<VersionContent['push']> = {};
  for (const locale of locales) {
    const strings = { ...shared[locale], ...own[locale] };
    const where = `${type}/${locale}`;
    const o = own[locale];
    email[locale] = {
      subject: o.subject!,
      preheader: o.preheader,
      mjml: expand(read(`${type}/email.mjml`), strings, escapeHtml, where).trim(),
      text: expand(read(`${type}/email.txt`), strings, (s) => s, where).trim(),
      // A type that rewords the layout's footer (the newsletter) keeps its own.
      ...(o.footerNotice ? { footer: o.footerNotice } : {}),
    };
    push[locale] = { title: o.pushTitle!, body: o.pushBody! };
  }
  return { category: spec.category, variables: spec.variables, content: { email, push } };
}

/** Layout version 1 of every tenant: the engine's built-in layout. */
export const defaultLayout = (): LayoutContent => builtinLayout();
