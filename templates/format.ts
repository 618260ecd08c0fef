import { LruCache } from '../lib/lru-cache.js';

export const defaultTimezone = 'Europe/Paris';

// Formatters are costly to build and few (locale, currency, zone) triples are in use, but the keys
// come from tenants' data and users' profiles: the caches are bounded, and only ISO 4217 codes and
// canonical locale tags key them.
export const formatCacheMax = 256;
const numberFormats = new LruCache<string, Intl.NumberFormat | null>(formatCacheMax);
const dateFormats = new LruCache<string, Intl.DateTimeFormat | null>(formatCacheMax);

/** How many formatters are held (bounded by formatCacheMax whatever is formatted). */
export const formatCacheSizes = () => ({ numbers: numberFormats.size, dates: dateFormats.size });

const currencies = new Set(Intl.supportedValuesOf('currency'));

/** An ISO 4217 code this runtime knows (`EUR`, `CHF`), exactly as written: three upper-case letters. */
export const isIsoCurrency = (code: unknown): code is string => typeof code === 'string' && /^[A-Z]{3}$/.test(code) && currencies.has(code);

/** `fr_be`, `FR-be` -> `fr-BE`; a tag that is not BCP 47 -> `en`, so one cache entry stands for every spelling. */
function canonicalLocale(locale: string): string {
  try {
    return Intl.getCanonicalLocales(locale.trim().replace(/_/g, '-'))[0] ?? 'en';
  } catch {
    return 'en';
  }
}

function numberFormat(locale: string, currency: string): Intl.NumberFormat | null {
  if (!isIsoCurrency(currency)) return null;
  return numberFormats.getOrMake(`${locale}|${currency}`, () => {
    try {
      return new Intl.NumberFormat(locale, { style: 'currency', currency });
    } catch {
      return null;
    }
  });
}

function dateFormat(locale: string, timeZone: string): Intl.DateTimeFormat | null {
  return dateFormats.getOrMake(`${locale}|${timeZone}`, () => {
    try {
      return new Intl.DateTimeFormat(locale, { dateStyle: 'long', timeStyle: 'short', timeZone });
    } catch {
      return null; // not an IANA zone
    }
  });
}

const NUMERIC = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;

function toNumber(value: unknown): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'string' && NUMERIC.test(value.trim())) return Number(value.trim());
  return null;
}

/** `42.5` + `EUR` in fr -> `42,50 €`; a non-numeric value is shown as given. */
export function formatMoney(value: unknown, currency: unknown, given: string): string {
  const amount = toNumber(value);
  if (amount === null) return String(value);
  const locale = canonicalLocale(given);
  const code = String(currency).trim().toUpperCase();
  const format = numberFormat(locale, code);
  if (format) return format.format(amount);
  // Unknown currency code: still localise the number, then show the code as given.
  return `${new Intl.NumberFormat(locale, { minimumFractionDigits: 2 }).format(amount)} ${String(currency)}`;
}

// An offset is required: without one the instant would depend on the server's own zone.
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** An ISO timestamp in the user's zone (default Europe/Paris); anything else as given. */
export function formatTimestamp(value: unknown, given: string, timezone: string | undefined): string {
  const text = String(value);
  const locale = canonicalLocale(given);
  if (!ISO_TIMESTAMP.test(text.trim())) return text;
  const date = new Date(text.trim());
  if (Number.isNaN(date.getTime())) return text;
  const format = dateFormat(locale, timezone || defaultTimezone) ?? dateFormat(locale, defaultTimezone);
  return format ? format.format(date) : text;
}
