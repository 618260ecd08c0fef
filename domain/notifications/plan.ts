import type { Channel } from './status.js';

export type DeliveryPlan =
  | {
      kind: 'send';
      channels: Channel[];
      fallback: Channel[];
      /** Inside quiet hours: not before this (epoch ms), which is `quietEnd` (hh:mm) on the user's clock. */
      notBefore?: number;
      quietEnd?: string;
      /** The template version each chosen channel was rendered from (for the operator's view). */
      templateVersions?: Partial<Record<Channel, number>>;
    }
  | { kind: 'skipped'; reason: 'no_opt_in' | 'opted_out' | 'no_reachable_channel' };

interface PlanFacts {
  available: Channel[];
  defaults: Channel[];
  chosen: Channel[] | null;
  mandatory: boolean;
  requiresOptIn: boolean;
  optedIn: boolean;
  allowFallback: boolean;
}

/**
 * Channel choice, as a pure function of the facts: the user's choice, else the category default;
 * a mandatory category always reaches the user; an opt-in category needs a recorded opt-in.
 */
export function decideChannels(f: PlanFacts): DeliveryPlan {
  if (f.requiresOptIn && !f.optedIn) return { kind: 'skipped', reason: 'no_opt_in' };
  const wanted = f.chosen ?? f.defaults;
  let channels = wanted.filter((c) => f.available.includes(c));
  if (channels.length === 0 && f.mandatory) {
    const byDefault = f.defaults.filter((c) => f.available.includes(c));
    channels = (byDefault.length > 0 ? byDefault : f.available).slice(0, 1);
  }
  if (channels.length === 0) {
    if (wanted.length === 0) return { kind: 'skipped', reason: 'opted_out' };
    // Wanted a channel the user can't be reached on (no device yet): the other one serves, if allowed.
    const other = f.allowFallback ? f.available.slice(0, 1) : [];
    if (other.length === 0) return { kind: 'skipped', reason: 'no_reachable_channel' };
    channels = other;
  }
  const fallback = f.allowFallback || f.mandatory ? f.available.filter((c) => !channels.includes(c)) : [];
  return { kind: 'send', channels, fallback };
}

/** The channel decision from the columns prepareDelivery reads. */
export function planFromRow(row: {
  hasEmail: boolean;
  devices: number;
  defaults: unknown;
  chosen: unknown;
  mandatory: boolean;
  requiresOptIn: boolean;
  optedInAt: Date | null;
  allowFallback: boolean;
}): { plan: DeliveryPlan; available: Channel[] } {
  const available: Channel[] = [];
  if (row.hasEmail) available.push('email');
  if (row.devices > 0) available.push('push');
  const plan = decideChannels({
    available,
    defaults: row.defaults as Channel[],
    chosen: (row.chosen as Channel[] | null) ?? null,
    mandatory: row.mandatory,
    requiresOptIn: row.requiresOptIn,
    optedIn: row.optedInAt !== null,
    allowFallback: row.allowFallback,
  });
  return { plan, available };
}
