import { typeNames } from './catalogue.js';
import { TemplateError } from './errors.js';
import { locales, type Locale } from './locale.js';
import { checkTranslations, loadSources, type Flags } from './sources.js';
import { mjmlToHtml } from './mjml.js';
import { PLACEHOLDER } from './substitute.js';

/**
 * Compiles MJML whose `{{name}}` placeholders must come out intact. Each placeholder becomes
 * a plain alphanumeric token while mjml runs (braces could be touched by its parser, CSS
 * inliner or template-syntax handling), then the tokens are checked and turned back.
 */
export async function compileWithPlaceholders(source: string, where = 'template'): Promise<string> {
  const names: string[] = [];
  const tokenFor = (name: string) => {
    let index = names.indexOf(name);
    if (index < 0) index = names.push(name) - 1;
    return `NFVAR${index}X`;
  };
  if (/NFVAR\d+X/.test(source)) throw new TemplateError('invalid_template', `${where}: contains a reserved token`);
  const tokenized = source.replace(PLACEHOLDER, (_, name: string) => tokenFor(name));
  const html = await mjmlToHtml(tokenized, where);

  names.forEach((name, index) => {
    const token = `NFVAR${index}X`;
    const before = tokenized.split(token).length;
    const after = html.split(token).length;
    if (after < before) {
      throw new TemplateError('invalid_template', `${where}: mjml dropped or altered {{${name}}}`, { name });
    }
  });
  return html.replace(/NFVAR(\d+)X/g, (_, index: string) => `{{${names[Number(index)]}}}`);
}

export interface CompiledEmail {
  /** HTML with `{{name}}` placeholders, filled with escaped values per message. */
  html: string;
  text: string;
  subject: string;
}

// Promises, not results: concurrent first renders share one compilation.
const cache = new Map<string, Promise<CompiledEmail>>();

export function getCompiledEmail(type: string, locale: Locale, flags: Flags): Promise<CompiledEmail> {
  const key = `${type}|${locale}|${flags.unsubscribe ? 'u' : '-'}`;
  let compiled = cache.get(key);
  if (!compiled) {
    compiled = (async () => {
      const sources = loadSources(type, locale, flags);
      const html = await compileWithPlaceholders(sources.mjml, `${type}/${locale}`);
      return { html, text: sources.text, subject: sources.subject };
    })();
    cache.set(key, compiled);
    void compiled.catch(() => cache.delete(key));
  }
  return compiled;
}

/** Compiles every template once, together (the worker does this at start-up so a broken template fails fast). */
export async function precompileTemplates(): Promise<void> {
  checkTranslations('layout', locales);
  const all: Promise<CompiledEmail>[] = [];
  for (const type of typeNames) {
    checkTranslations(type, locales);
    for (const locale of locales) {
      for (const unsubscribe of [false, true]) all.push(getCompiledEmail(type, locale, { unsubscribe }));
    }
  }
  await Promise.all(all);
}
