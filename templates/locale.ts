export type Locale = 'en' | 'fr' | 'de' | 'nl';

export const locales: readonly Locale[] = Object.freeze(['en', 'fr', 'de', 'nl'] as const);

const fallback: Locale = 'en';

function isLocale(value: string): value is Locale {
  return (locales as readonly string[]).includes(value);
}

/** `fr-FR`, `fr_CA`, `FR` -> `fr`; anything we have no translations for -> `en`. */
export function resolveLocale(input: string | undefined | null): Locale {
  const language = (input ?? '').trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return isLocale(language) ? language : fallback;
}

/**
 * The locale tag used for numbers and dates. Keeps the region when the caller gave one of the
 * same language (`en-GB` formats dates day-first, `de-CH` formats francs the Swiss way), since
 * translations only vary by language but formatting conventions vary by region.
 */
export function formattingLocale(input: string | undefined | null, resolved: Locale): string {
  if (!input) return resolved;
  try {
    const [canonical] = Intl.getCanonicalLocales(input.trim().replace(/_/g, '-'));
    if (canonical && canonical.split('-')[0]?.toLowerCase() === resolved) return canonical;
  } catch {
    // Not a valid BCP 47 tag: the resolved language is good enough.
  }
  return resolved;
}
