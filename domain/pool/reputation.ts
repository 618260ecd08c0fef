// Reputation as pure functions of recorded outcomes: decayed good/bad totals per IP x
// provider -> a 0-100 score -> a state. Time is a parameter, so tests move it instead of sleeping.
import type { ProviderRules } from './rules.js';

/** How much one outcome weighs against the IP; good outcomes weigh 1. */
const badWeight: Record<string, number> = {
  deferred: 1,
  rate_limited: 3,
  blocked: 10,
  complaint: 25,
  'bounce:blocklisted': 10,
  'bounce:spam_block': 10,
  'bounce:auth_failed': 10,
  'bounce:policy': 8,
  'bounce:rate_limited': 3,
  'bounce:transient': 1,
  'bounce:other': 2,
  // Seed placement (domain/placement/): few messages, each a provider's own verdict on the IP.
  'placement:spam': 20,
  'placement:missing': 5,
};

/** Good outcomes other than a delivery, and what each weighs (a delivery weighs 1). */
const goodWeight: Record<string, number> = { 'placement:inbox': 5 };

/** Bounce classes caused by the recipient list, not the sending IP: charged to the tenant's hygiene. */
const tenantClasses = new Set(['unknown_user', 'bad_domain', 'mailbox_disabled', 'mailbox_full', 'message_too_large']);

export function chargeOf(kind: string): 'ip' | 'tenant' {
  return kind.startsWith('bounce:') && tenantClasses.has(kind.slice('bounce:'.length)) ? 'tenant' : 'ip';
}

/** The outcome kind of one SMTP answer: its rule action wins, then the bounce class. */
export function outcomeKind(o: { accepted: boolean; temporary: boolean; bounceClass?: string; ruleAction?: string }): string {
  if (o.accepted) return 'delivered';
  if (o.ruleAction === 'suspend' || o.bounceClass === 'blocklisted') return 'blocked';
  if (o.ruleAction === 'throttle' || o.bounceClass === 'rate_limited') return 'rate_limited';
  if (o.temporary) return 'deferred';
  return `bounce:${o.bounceClass ?? 'other'}`;
}

/** One row of decayed sums: events of one kind, each weighted 2^(-age / half-life). */
export interface DecayedRow {
  kind: string;
  decayed: number;
  count: number;
}

export interface Score {
  score: number;
  events: number;
  good: number;
  bad: number;
}

/** Laplace-style: `priorGood` assumed good outcomes keep a new IP near 100 until evidence arrives. */
export function scoreOf(rows: readonly DecayedRow[], rules: ProviderRules): Score {
  let good = 0;
  let bad = 0;
  let events = 0;
  for (const r of rows) {
    events += r.count;
    if (r.kind === 'delivered') good += r.decayed;
    else if (goodWeight[r.kind]) good += r.decayed * goodWeight[r.kind]!;
    else bad += r.decayed * (badWeight[r.kind] ?? 1);
  }
  const prior = rules.reputation.priorGood;
  const score = Math.round((100 * (good + prior)) / (good + bad + prior || 1));
  return { score, events, good: round2(good), bad: round2(bad) };
}

/** Decay factor of an event `ageMs` old. */
export function decay(ageMs: number, rules: ProviderRules): number {
  return Math.pow(0.5, Math.max(0, ageMs) / (rules.reputation.halfLifeMinutes * 60_000));
}

export type IpState = 'active' | 'warming' | 'throttled' | 'suspended' | 'quarantined';

export interface StateInput {
  /** Suspended for this provider (or all) until then, if in the future. */
  suspendedUntil?: number;
  throttledUntil?: number;
  quarantined?: boolean;
  warming?: boolean;
  score: Score;
}

export function stateOf(s: StateInput, rules: ProviderRules, now: number): IpState {
  if (s.quarantined || isQuarantined(s.score, rules)) return 'quarantined';
  if (s.suspendedUntil !== undefined && s.suspendedUntil > now) return 'suspended';
  if ((s.throttledUntil !== undefined && s.throttledUntil > now) || s.score.score < rules.reputation.norm) return 'throttled';
  if (s.warming) return 'warming';
  return 'active';
}

export function isQuarantined(score: Score, rules: ProviderRules): boolean {
  return score.events >= rules.reputation.minEvents && score.score < rules.reputation.quarantineBelow;
}

/** Selection weight: configured weight x score, cut further below the norm, scaled by the warm-up share. */
export function selectionWeight(weight: number, score: Score, rules: ProviderRules, warmupShare = 1): number {
  const below = score.score < rules.reputation.norm ? 0.25 : 1;
  return weight * (score.score / 100) * below * warmupShare;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
