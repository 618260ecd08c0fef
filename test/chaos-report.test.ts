import { describe, expect, it } from 'vitest';
import { failed, summarise, type ChaosEvent, type NotificationFacts } from '../bench/chaos-report.js';

// The chaos run's verdict on a second copy: explained only by a fault between the first copy's 250
// and the engine's record of it; a copy the engine had recorded and sent again is always a bug.
const base = (over: Partial<NotificationFacts>): NotificationFacts => ({
  id: 'n1',
  expected: ['email'],
  copies: { email: [1_000, 9_000], push: [] },
  recorded: [{ channel: 'email', startedAt: 8_900, finishedAt: 9_010 }],
  status: 'delivered',
  deliveredChannels: ['email'],
  ...over,
});
const kill = (at: number): ChaosEvent => ({ kind: 'worker killed', at, until: at + 5_000 });

describe('the chaos run verdict', () => {
  it('explains a second copy by a worker killed after the first 250 and before any record of it', () => {
    const s = summarise([base({})], [kill(1_100)]);
    expect(s.duplicates).toHaveLength(1);
    expect(s.duplicates[0]!.cause).toMatch(/worker killed: 100 ms after the 250/);
    expect(failed(s)).toBe(false);
  });

  it('does not explain it by a kill before the first 250, nor when the first copy was recorded', () => {
    expect(summarise([base({})], [kill(900)]).duplicates[0]!.cause).toBeUndefined();
    const recorded = base({
      recorded: [
        { channel: 'email', startedAt: 950, finishedAt: 1_010 },
        { channel: 'email', startedAt: 8_900, finishedAt: 9_010 },
      ],
    });
    const s = summarise([recorded], [kill(1_100)]);
    expect(s.duplicates[0]!.problem).toMatch(/recorded at \+10 ms and sent again/);
    expect(failed(s)).toBe(true);
  });

  it('explains it by PostgreSQL down across the first 250 (the record could not be written)', () => {
    const s = summarise([base({})], [{ kind: 'PostgreSQL restarted', at: 500, until: 3_000 }]);
    expect(s.duplicates[0]!.cause).toMatch(/PostgreSQL restarted: down since 500 ms before the 250/);
  });

  it('counts a missing copy as lost and a status that says otherwise as a disagreement', () => {
    const s = summarise([base({ expected: ['email', 'push'], copies: { email: [1_000], push: [] }, deliveredChannels: ['email', 'push'] })], []);
    expect(s.lost).toEqual(['n1']);
    expect(s.disagreements).toHaveLength(1);
    expect(failed(s)).toBe(true);
  });
});
