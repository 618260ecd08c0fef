import { getTypeSpec } from './catalogue.js';
import { formattingLocale, resolveLocale } from './locale.js';
import { loadSources } from './sources.js';
import { fillPlaceholders, singleLine } from './substitute.js';
import { buildValues, type RenderContext } from './variables.js';

export interface RenderedPush {
  title: string;
  body: string;
}

// Lock screens cut around these lengths anyway; cutting here keeps a word boundary and an ellipsis.
const maxTitle = 65;
const maxBody = 240;

export function shorten(text: string, max: number): string {
  const chars = Array.from(text); // code points, so an emoji is never split in half
  if (chars.length <= max) return text;
  const cut = chars.slice(0, max - 1).join('');
  const space = cut.lastIndexOf(' ');
  return `${(space > max / 2 ? cut.slice(0, space) : cut).trimEnd()}…`;
}

export function renderPush(type: string, locale: string, data: Record<string, unknown>, ctx: RenderContext): RenderedPush {
  const spec = getTypeSpec(type);
  const resolved = resolveLocale(locale);
  const values = buildValues(type, spec, formattingLocale(locale, resolved), data, ctx);
  // Push has no footer, so the unsubscribe flag doesn't matter; sources are cached per file.
  const sources = loadSources(type, resolved, { unsubscribe: false });
  return {
    title: shorten(singleLine(fillPlaceholders(sources.pushTitle, values)), maxTitle),
    body: shorten(fillPlaceholders(sources.pushBody, values).trim(), maxBody),
  };
}
