import { describe, expect, it } from 'vitest';
import { nextScheduledTime, wallClock } from '../domain/digests/schedule.js';
import { digestDeadline } from '../workflows/digest-window.js';

// The fire times a digest workflow waits for (its durable timer runs from now to these), across
// the Europe/Paris changes of 2026: summer time from 29 March 02:00, winter time from 25 October 03:00.

const daily19 = { every: 'day', at: '19:00' } as const;
const paris = 'Europe/Paris';

describe('digest schedule in the user time zone', () => {
  it('daily 19:00 Paris is 18:00 UTC in winter, 17:00 UTC in summer, day after day across the March change', () => {
    let at = Date.parse('2026-03-27T12:00:00Z');
    const fires: string[] = [];
    for (let i = 0; i < 4; i++) {
      at = nextScheduledTime(at, paris, daily19);
      fires.push(new Date(at).toISOString());
      expect(wallClock(at, paris).slice(11)).toBe('19:00');
    }
    expect(fires).toEqual(['2026-03-27T18:00:00.000Z', '2026-03-28T18:00:00.000Z', '2026-03-29T17:00:00.000Z', '2026-03-30T17:00:00.000Z']);
    // The timer that spans the change is one hour shorter than a day.
    expect(Date.parse(fires[2]!) - Date.parse(fires[1]!)).toBe(23 * 3600_000);
  });

  it('daily 19:00 Paris across the October change: a 25-hour timer, still 19:00 on the clock', () => {
    const before = nextScheduledTime(Date.parse('2026-10-24T10:00:00Z'), paris, daily19);
    const after = nextScheduledTime(before, paris, daily19);
    expect(new Date(before).toISOString()).toBe('2026-10-24T17:00:00.000Z');
    expect(new Date(after).toISOString()).toBe('2026-10-25T18:00:00.000Z');
    expect(after - before).toBe(25 * 3600_000);
  });

  it('a time inside the spring-forward gap goes right after the change; weekly picks the named weekday', () => {
    const gap = nextScheduledTime(Date.parse('2026-03-28T12:00:00Z'), paris, { every: 'day', at: '02:30' });
    expect(new Date(gap).toISOString()).toBe('2026-03-29T01:30:00.000Z'); // 03:30 summer time
    const monday = nextScheduledTime(Date.parse('2026-03-25T12:00:00Z'), paris, { every: 'week', at: '08:00', weekday: 'monday' });
    expect(new Date(monday).toISOString()).toBe('2026-03-30T06:00:00.000Z');
    expect(wallClock(monday, paris)).toBe('2026-03-30 08:00');
  });

  it('a fire time is strictly after the moment asked: at 19:00 sharp the next one is tomorrow', () => {
    const now = Date.parse('2026-01-10T18:00:00Z');
    expect(new Date(nextScheduledTime(now, paris, daily19)).toISOString()).toBe('2026-01-11T18:00:00.000Z');
    expect(new Date(nextScheduledTime(now, 'Not/AZone', daily19)).toISOString()).toBe('2026-01-10T19:00:00.000Z');
  });

  it('window deadlines: fixed from the first item, sliding from the latest up to its maximum', () => {
    const fixed = { window: { mode: 'fixed', seconds: 60 } } as const;
    const sliding = { window: { mode: 'sliding', seconds: 60, maxSeconds: 300 } } as const;
    expect(digestDeadline(fixed, 1_000, 50_000)).toBe(61_000);
    expect(digestDeadline(sliding, 1_000, 50_000)).toBe(110_000);
    expect(digestDeadline(sliding, 1_000, 280_000)).toBe(301_000);
    expect(digestDeadline({ schedule: daily19 }, 1_000, 2_000, 99_000)).toBe(99_000);
  });
});
