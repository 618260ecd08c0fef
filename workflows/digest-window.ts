import type { DigestSpec } from '../domain/digests/items.js';

// The digest workflow's timer lengths, as a pure function so they are tested without Temporal.

/**
 * When an open window closes: the scheduled time, or fixed `seconds` after the first item, or
 * sliding `seconds` after the latest but never past `maxSeconds` after the first.
 */
export function digestDeadline(spec: DigestSpec, openedAt: number, lastItemAt: number, scheduledAt?: number): number {
  if (spec.schedule) {
    if (scheduledAt === undefined) throw new Error('a scheduled digest needs its fire time');
    return scheduledAt;
  }
  const window = spec.window!;
  if (window.mode === 'fixed') return openedAt + window.seconds * 1000;
  const max = openedAt + (window.maxSeconds ?? window.seconds) * 1000;
  return Math.min(lastItemAt + window.seconds * 1000, max);
}
