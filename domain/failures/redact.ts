// Failure messages reach workflow histories and logs, where personal data must not go.
//
// Not a regular expression: /[^\s<>"'(),;:]+@[^\s<>"'(),;:]+/ backtracks from every position of
// a long run without "@" (quadratic; a 1 MB one-line SMTP reply took minutes). This walks out
// from each "@" instead, and never scans a character twice.
const delimiters = new Set([' ', '\t', '\r', '\n', '\f', '\v', '<', '>', '"', "'", '(', ')', ',', ';', ':']);
const isDelimiter = (ch: string | undefined) => ch === undefined || delimiters.has(ch) || /\s/.test(ch);

/** Replaces every address-like token (non-delimiters around an "@") with <address>. */
export function redactAddresses(text: string): string {
  let out = '';
  let copied = 0;
  let at = text.indexOf('@');
  while (at !== -1) {
    let start = at;
    while (start > copied && !isDelimiter(text[start - 1])) start--;
    // Nothing before this "@": a later one may still have this one in its local part.
    if (start === at) {
      at = text.indexOf('@', at + 1);
      continue;
    }
    let end = at + 1;
    while (end < text.length && !isDelimiter(text[end])) end++;
    if (end > at + 1) {
      out += `${text.slice(copied, start)}<address>`;
      copied = end;
    }
    at = text.indexOf('@', end);
  }
  return out + text.slice(copied);
}

/**
 * The distinct address-like tokens of `text` (as redactAddresses finds them), lower-cased, with a
 * sentence's closing dot dropped; undefined when there are more than `max`.
 */
export function addressesIn(text: string, max: number): string[] | undefined {
  const found = new Set<string>();
  let from = 0;
  let at = text.indexOf('@');
  while (at !== -1) {
    let start = at;
    while (start > from && !isDelimiter(text[start - 1])) start--;
    if (start === at) {
      at = text.indexOf('@', at + 1);
      continue;
    }
    let end = at + 1;
    while (end < text.length && !isDelimiter(text[end])) end++;
    if (end > at + 1) {
      found.add(text.slice(start, end).toLowerCase().replace(/\.+$/, ''));
      if (found.size > max) return undefined;
      from = end;
    }
    at = text.indexOf('@', end);
  }
  return [...found];
}
