import { readFileSync } from 'node:fs';
import { contextVariables, getTypeSpec } from './catalogue.js';
import { TemplateError } from './errors.js';
import type { Locale } from './locale.js';
import { escapeHtml, placeholderNames } from './substitute.js';

/**
 * Template files, resolved next to this module so vitest and tsx find the same folder:
 *   layout/layout.mjml, layout/layout.txt, layout/<locale>.json   shared header and footer
 *   <type>/email.mjml, <type>/email.txt, <type>/<locale>.json     one folder per type
 * In .mjml/.txt files `{{t.key}}` is a translated string from the locale's JSON (type keys
 * override layout keys), `{{> content}}` is where the type's body goes in the layout, and
 * `{{#unsubscribe}}…{{/unsubscribe}}` is kept only when an unsubscribe URL is given.
 * What remains is `{{name}}` variables, filled per message.
 */
const root = new URL('.', import.meta.url);

export interface Sources {
  mjml: string;
  text: string;
  subject: string;
  pushTitle: string;
  pushBody: string;
}

export interface Flags {
  unsubscribe: boolean;
}

type Messages = Record<string, string>;

// Template files never change while the process runs.
const files = new Map<string, string>();

export function readTemplateFile(path: string): string {
  let content = files.get(path);
  if (content === undefined) {
    try {
      content = readFileSync(new URL(path, root), 'utf8');
    } catch (cause) {
      throw new TemplateError('invalid_template', `cannot read template file ${path}`, { path }, { cause });
    }
    files.set(path, content);
  }
  return content;
}

export function readMessages(folder: string, locale: Locale): Messages {
  const path = `${folder}/${locale}.json`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readTemplateFile(path));
  } catch (cause) {
    if (cause instanceof TemplateError) throw cause;
    throw new TemplateError('invalid_template', `${path} is not valid JSON`, { path }, { cause });
  }
  const valid = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === 'string');
  if (!valid) throw new TemplateError('invalid_template', `${path} must map keys to strings`, { path });
  return parsed as Messages;
}

const BLOCK = /\{\{#([A-Za-z]+)\}\}([\s\S]*?)\{\{\/\1\}\}/g;
const MESSAGE = /\{\{t\.([A-Za-z0-9_]+)\}\}/g;

/** Resolves blocks and `{{t.key}}` strings; `encode` escapes the strings for the target format. */
export function expand(source: string, messages: Messages, flags: Flags, encode: (s: string) => string, where: string): string {
  return source
    .replace(BLOCK, (_, flag: string, inner: string) => {
      if (!Object.hasOwn(flags, flag)) throw new TemplateError('invalid_template', `${where}: unknown block {{#${flag}}}`);
      return flags[flag as keyof Flags] ? inner : '';
    })
    .replace(MESSAGE, (_, key: string) => {
      const message = Object.hasOwn(messages, key) ? messages[key] : undefined;
      if (message === undefined) throw new TemplateError('invalid_template', `${where}: no message "${key}"`);
      return encode(message);
    });
}

/** Only known variables may remain, and no stray `{{`: a typo must fail at start-up, not in a mail. */
function checkPlaceholders(source: string, allowed: ReadonlySet<string>, where: string): void {
  const unknown = placeholderNames(source).filter((name) => !allowed.has(name));
  if (unknown.length > 0) {
    throw new TemplateError('invalid_template', `${where}: unknown variable(s) ${unknown.join(', ')}`);
  }
  const stray = source.replace(/\{\{[A-Za-z_][A-Za-z0-9_]*\}\}/g, '').match(/\{\{|\}\}/);
  if (stray) throw new TemplateError('invalid_template', `${where}: malformed placeholder near "${stray[0]}"`);
}

const plain = (s: string) => s;

function tidyText(text: string): string {
  return `${text
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

function messagesFor(type: string, locale: Locale): Messages {
  // `lang` feeds <html lang>, which screen readers use to pick a voice.
  return { ...readMessages('layout', locale), ...readMessages(type, locale), lang: locale };
}

function message(messages: Messages, key: string, where: string): string {
  const value = messages[key];
  if (value === undefined) throw new TemplateError('invalid_template', `${where}: no message "${key}"`);
  return value;
}

const assembled = new Map<string, Sources>();

/** Every source of one (type, locale, flags), with only `{{name}}` variables left. Cached. */
export function loadSources(type: string, locale: Locale, flags: Flags): Sources {
  const key = `${type}|${locale}|${flags.unsubscribe ? 'u' : '-'}`;
  let sources = assembled.get(key);
  if (!sources) {
    sources = assemble(type, locale, flags);
    assembled.set(key, sources);
  }
  return sources;
}

function assemble(type: string, locale: Locale, flags: Flags): Sources {
  const spec = getTypeSpec(type);
  const where = `${type}/${locale}`;
  const messages = messagesFor(type, locale);
  const allowed = new Set<string>([...spec.fields, ...contextVariables.filter((v) => v !== 'unsubscribeUrl')]);
  if (flags.unsubscribe) allowed.add('unsubscribeUrl');

  const mjml = expand(
    readTemplateFile('layout/layout.mjml').replace('{{> content}}', () => readTemplateFile(`${type}/email.mjml`)),
    messages,
    flags,
    escapeHtml,
    `${where} email.mjml`,
  );
  const text = tidyText(
    expand(
      readTemplateFile('layout/layout.txt').replace('{{> content}}', () => readTemplateFile(`${type}/email.txt`)),
      messages,
      flags,
      plain,
      `${where} email.txt`,
    ),
  );
  const sources: Sources = {
    mjml,
    text,
    subject: message(messages, 'subject', where),
    pushTitle: message(messages, 'pushTitle', where),
    pushBody: message(messages, 'pushBody', where),
  };
  for (const [name, source] of Object.entries(sources)) checkPlaceholders(source, allowed, `${where} ${name}`);
  return sources;
}

/** Every locale must translate exactly the keys English has; a forgotten string fails at start-up. */
export function checkTranslations(folder: string, all: readonly Locale[]): void {
  const reference = Object.keys(readMessages(folder, 'en')).sort();
  for (const locale of all) {
    const keys = new Set(Object.keys(readMessages(folder, locale)));
    const missing = reference.filter((k) => !keys.has(k));
    const extra = [...keys].filter((k) => !reference.includes(k));
    if (missing.length > 0 || extra.length > 0) {
      throw new TemplateError('invalid_template', `${folder}/${locale}.json differs from en.json`, { missing, extra });
    }
  }
}
