export const defaultTimezone = 'Europe/Paris';

// Formatters are costly to build and there are few distinct (locale, currency, zone) triples.
const numberFormats = new Map<string, Intl.NumberFormat | null>();
const dateFormats = new Map<string, Intl.DateTimeFormat | null>();

function numberFormat(locale: string, currency: string): Intl.NumberFormat | null {
  const key = `${locale}|${currency}`;
  let format = numberFormats.get(key);
  if (format === undefined) {
    try {
      format = new Intl.NumberFormat(locale, { style: 'currency', currency });
    } catch {
      format = null; // not an ISO 4217 code
    }
    numberFormats.set(key, format);
  }
  return format;
}

function dateFormat(locale: string, timeZone: string): Intl.DateTimeFormat | null {
  const key = `${locale}|${timeZone}`;
  let format = dateFormats.get(key);
  if (format === undefined) {
    try {
      format = new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeStyle: 'short', timeZone });
    } catch {
      format = null; // not an IANA zone
    }
    dateFormats.set(key, format);
  }
  return format;
}

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && NUMERIC.test(value.trim())) return Number(value.trim());
  return null;
}

/** `42.5` + `EUR` in fr -> `42,50 €`; a non-numeric value is shown as given. */
export function formatMoney(value: unknown, currency: unknown, locale: string): string {
  const amount = toNumber(value);
  if (amount === null) return String(value);
  const code = String(currency).trim().toUpperCase();
  const format = numberFormat(locale, code);
  if (format) return format.format(amount);
  // Unknown currency code: still localise the number, then show the code as given.
  return `${new Intl.NumberFormat(locale, { minimumFractionDigits: 2 }).format(amount)} ${String(currency)}`;
}

// An offset is required: without one the instant would depend on the server's own zone.
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** An ISO timestamp in the user's zone (default Europe/Paris); anything else as given. */
export function formatTimestamp(value: unknown, locale: string, timezone: string | undefined): string {
  const text = String(value);
  if (!ISO_TIMESTAMP.test(text.trim())) return text;
  const date = new Date(text.trim());
  if (Number.isNaN(date.getTime())) return text;
  const format = dateFormat(locale, timezone || defaultTimezone) ?? dateFormat(locale, defaultTimezone);
  return format ? format.format(date) : text;
}
