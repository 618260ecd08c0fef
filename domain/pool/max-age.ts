// How long a notification of each category may wait for an IP that may send (every IP of the
// tenant suspended for the provider, the tenant held) before the other channel serves the user
// better. Configured as "category=duration,..." ("*" for the rest), e.g. CATEGORY_MAX_AGE.

export const defaultMaxAges = 'security=30m,transactions=6h,balance=6h,marketing=2d,*=6h';

const unitMs = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export type MaxAges = Record<string, number>;

/** Parses "security=30m,*=6h"; throws naming the bad entry. */
export function parseMaxAges(text: string = defaultMaxAges): MaxAges {
  const out: MaxAges = {};
  for (const entry of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([\w.*-]+)=(\d+)(s|m|h|d)$/.exec(entry);
    if (!m) throw new Error(`CATEGORY_MAX_AGE: "${entry}" is not "category=duration" (e.g. transactions=6h)`);
    out[m[1]!] = Number(m[2]) * unitMs[m[3] as keyof typeof unitMs];
  }
  return out;
}

export function maxAgeOf(ages: MaxAges, category: string): number {
  return ages[category] ?? ages['*'] ?? 6 * 3_600_000;
}
