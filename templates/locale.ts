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

/** A BCP 47 tag in canonical case (`fr_be` -> `fr-BE`), or undefined when it is not one. */
export function canonicalTag(input: string | undefined | null): string | undefined {
  if (!input) return undefined;
  try {
    return Intl.getCanonicalLocales(input.trim().replace(/_/g, '-'))[0];
  } catch {
    return undefined;
  }
}

/**
 * Which of `available` serves a user asking for `wanted`: the exact tag, then shorter prefixes
 * (`fr-BE` -> `fr`), then the tenant's default locale (and its language), then English, then the
 * first there is. A user whose locale has no content gets a fallback, never an empty part.
 */
export function pickLocale(available: readonly string[], wanted: string | undefined | null, defaultLocale: string): string | undefined {
  const byLower = new Map(available.map((tag) => [tag.toLowerCase(), tag]));
  const chain: string[] = [];
  for (const start of [canonicalTag(wanted), canonicalTag(defaultLocale), 'en']) {
    if (!start) continue;
    const parts = start.split('-');
    for (let n = parts.length; n > 0; n--) chain.push(parts.slice(0, n).join('-').toLowerCase());
  }
  for (const tag of chain) {
    const hit = byLower.get(tag);
    if (hit) return hit;
  }
  return available[0];
}

const languageNames = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' });

/** A well-formed BCP 47 tag whose language ICU knows (`xx` is well-formed but no language). */
export function isKnownLocale(input: string): boolean {
  const tag = canonicalTag(input);
  if (!tag) return false;
  return languageNames.of(tag.split('-')[0]!) !== undefined;
}
