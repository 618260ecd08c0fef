// Warm-up ramp: a new IP's daily cap rises day by day (rules file `warmup.dailyCaps`);
// after the last step it sends its full share. Days count from the warm-up start, not midnight.

const DAY_MS = 86_400_000;

export interface WarmupDay {
  day: number;
  cap: number;
  dayStart: number;
  dayEnd: number;
  /** Share of its weight a warming IP gets, rising with the ramp. */
  share: number;
}

/** The current ramp step, or null once warm-up is over (or never started). */
export function warmupDay(startedAt: number | null | undefined, now: number, dailyCaps: readonly number[]): WarmupDay | null {
  if (startedAt === null || startedAt === undefined) return null;
  const day = Math.floor(Math.max(0, now - startedAt) / DAY_MS);
  if (day >= dailyCaps.length) return null;
  const dayStart = startedAt + day * DAY_MS;
  return { day, cap: dailyCaps[day]!, dayStart, dayEnd: dayStart + DAY_MS, share: (day + 1) / (dailyCaps.length + 1) };
}
