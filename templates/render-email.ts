import { getTypeSpec } from './catalogue.js';
import { getCompiledEmail } from './compile.js';
import { mjmlToHtmlHere } from './mjml.js';
import { formattingLocale, resolveLocale } from './locale.js';
import { loadSources } from './sources.js';
import { escapeHtml, escapeHtmlMultiline, fillPlaceholders, singleLine } from './substitute.js';
import { buildValues, wantsUnsubscribe, type RenderContext } from './variables.js';

export interface RenderedEmail {
  subject: string;
  html: string;
  text: string;
}

function prepare(type: string, locale: string, data: Record<string, unknown>, ctx: RenderContext) {
  const spec = getTypeSpec(type);
  const resolved = resolveLocale(locale);
  const flags = { unsubscribe: wantsUnsubscribe(type, spec, ctx) };
  const values = buildValues(type, spec, formattingLocale(locale, resolved), data, ctx);
  const htmlValues = Object.fromEntries(
    Object.entries(values).map(([k, v]) => [k, spec.multiline?.includes(k) ? escapeHtmlMultiline(v) : escapeHtml(v)]),
  );
  return { resolved, flags, values, htmlValues };
}

/** Renders from the cached compiled HTML: per message only escaped values are substituted. */
export async function renderEmail(type: string, locale: string, data: Record<string, unknown>, ctx: RenderContext): Promise<RenderedEmail> {
  const { resolved, flags, values, htmlValues } = prepare(type, locale, data, ctx);
  const compiled = await getCompiledEmail(type, resolved, flags);
  return {
    subject: singleLine(fillPlaceholders(compiled.subject, values)),
    html: fillPlaceholders(compiled.html, htmlValues),
    text: fillPlaceholders(compiled.text, values),
  };
}

/**
 * Runs mjml for every message, on this thread: slow, kept for benchmarks and to check the compiled
 * path against.
 */
export async function renderEmailUncompiled(type: string, locale: string, data: Record<string, unknown>, ctx: RenderContext): Promise<RenderedEmail> {
  const { resolved, flags, values, htmlValues } = prepare(type, locale, data, ctx);
  const sources = loadSources(type, resolved, flags);
  return {
    subject: singleLine(fillPlaceholders(sources.subject, values)),
    html: await mjmlToHtmlHere(fillPlaceholders(sources.mjml, htmlValues), `${type}/${resolved}`),
    text: fillPlaceholders(sources.text, values),
  };
}
