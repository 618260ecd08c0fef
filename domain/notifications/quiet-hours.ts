// Quiet hours: a daily window in the user's own timezone ("22:00"-"07:00", may cross midnight)
// inside which only mandatory categories are sent; the rest wait until it ends.

export interface QuietWindow {
  starts: string;
  ends: string;
}

export const clockTime = /^([01]\d|2[0-3]):[0-5]\d$/;

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Minutes since local midnight (and the seconds into that minute) at `now` in `timeZone`. */
function localClock(now: number, timeZone: string): { minutes: number; seconds: number } {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(
    new Date(now),
  );
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { minutes: get('hour') * 60 + get('minute'), seconds: get('second') };
}

/** When the window ends if `now` is inside it (epoch ms), else undefined. */
export function quietUntil(now: number, timeZone: string, window: QuietWindow | null | undefined): number | undefined {
  if (!window || !clockTime.test(window.starts) || !clockTime.test(window.ends)) return undefined;
  const start = minutesOf(window.starts);
  const end = minutesOf(window.ends);
  if (start === end) return undefined;
  const { minutes, seconds } = localClock(now, timeZone);
  const inside = start < end ? minutes >= start && minutes < end : minutes >= start || minutes < end;
  if (!inside) return undefined;
  const wait = (end - minutes + 1440) % 1440;
  // To the minute the window ends, local time (a DST change inside the window shifts it by its size).
  return now + wait * 60_000 - seconds * 1000 - (now % 1000);
}
