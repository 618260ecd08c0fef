import { TemplateError } from './errors.js';

/** `{{name}}`: a variable filled per message. */
export const PLACEHOLDER = /\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}/g;

export function placeholderNames(source: string): string[] {
  return [...new Set(Array.from(source.matchAll(PLACEHOLDER), (m) => m[1] as string))];
}

/**
 * Replaces every `{{name}}` in one pass, so a value that itself contains `{{x}}` is never
 * expanded again. A placeholder with no value throws: a gap in a bank alert is worse than none.
 */
export function fillPlaceholders(source: string, values: Readonly<Record<string, string>>): string {
  let missing: string[] | undefined;
  const filled = source.replace(PLACEHOLDER, (match, name: string) => {
    if (Object.hasOwn(values, name)) return values[name] as string;
    (missing ??= []).push(name);
    return match;
  });
  if (missing) {
    const names = [...new Set(missing)];
    throw new TemplateError('missing_variable', `missing variable(s): ${names.join(', ')}`, { missing: names });
  }
  return filled;
}

const HTML_ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Safe in element text and in quoted attributes. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ENTITIES[c] as string);
}

/** For fields declared multi-line: escaped, and newlines kept visible as `<br />`. */
export function escapeHtmlMultiline(value: string): string {
  return escapeHtml(value).replace(/\r\n|\r|\n/g, '<br />');
}

/** For mail headers: a CR or LF in a subject would let data inject headers. */
export function singleLine(value: string): string {
  return value.replace(/[\r\n\u2028\u2029]+/g, ' ').trim();
}
