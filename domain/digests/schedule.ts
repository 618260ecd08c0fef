import { weekdays, type DigestSchedule } from '../../lib/digest-spec.js';

// When a digest window closes. Pure functions over the IANA data in Intl: the digest workflow
// gets the scheduled time from a local activity (recorded in its history, so a tz-data update
// never changes a replay) and its timer lengths from workflows/digest-window.ts.

interface LocalParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  weekday: number; // 0 = monday
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

const shortDays = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function localParts(at: number, timeZone: string): LocalParts & { second: number } {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(at)
      .map((p) => [p.type, p.value]),
  );
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: shortDays.indexOf(parts.weekday!),
  };
}

/** The zone's offset from UTC at an instant, in ms (Paris in summer: +7,200,000). */
function offsetAt(at: number, timeZone: string): number {
  const p = localParts(at, timeZone);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(at / 1000) * 1000;
}

/**
 * The instant a wall-clock time happens in a zone. A time skipped by a spring-forward change
 * (02:30 in Paris on the last Sunday of March) is taken as that many minutes after the change.
 */
export function zonedInstant(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const first = wall - offsetAt(wall, timeZone);
  // The offset at the guess may differ from the one at the answer when a change lies between.
  return wall - offsetAt(first, timeZone);
}

/** A zone the runtime knows, else UTC (users.timezone is free text). */
export function knownZone(timeZone: string | null | undefined): string {
  if (!timeZone) return 'UTC';
  try {
    formatter(timeZone);
    return timeZone;
  } catch {
    return 'UTC';
  }
}

/** The first time strictly after `after` that the schedule fires on the user's clock. */
export function nextScheduledTime(after: number, timeZone: string, schedule: DigestSchedule): number {
  const zone = knownZone(timeZone);
  const [hour, minute] = schedule.at.split(':').map(Number) as [number, number];
  const today = localParts(after, zone);
  const wantedDay = schedule.every === 'week' ? weekdays.indexOf(schedule.weekday ?? 'monday') : undefined;
  // Walking calendar days in UTC arithmetic: Date.UTC normalises day overflow into the next month.
  for (let i = 0; i < 9; i++) {
    const d = new Date(Date.UTC(today.year, today.month - 1, today.day + i));
    const weekday = (today.weekday + i) % 7;
    if (wantedDay !== undefined && weekday !== wantedDay) continue;
    const at = zonedInstant(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), hour, minute, zone);
    if (at > after) return at;
  }
  throw new Error(`no fire time for ${schedule.every} ${schedule.at}`);
}

/** The wall-clock time of an instant in a zone, for what the Temporal UI shows ("19:00 Europe/Paris"). */
export function wallClock(at: number, timeZone: string): string {
  const p = localParts(at, knownZone(timeZone));
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${p.year}-${pad(p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}`;
}
