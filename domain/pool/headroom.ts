import type { RateLimit } from './rules.js';

// Send slots are per IP and shared by every tenant of a pool. Mail of a mandatory category
// (security alerts) may use all of them; the rest leaves one connection and a tenth of the message
// rate free, so a burst of bulk mail holding a shared pool's slots (its sends wait for a slot
// inside the activity) never makes an alert wait for the whole burst. Small limits (under 4
// connections, under 10 messages per window) are left whole: the reserve would halve them.

/** Share of an IP's message rate kept for mandatory mail. */
export const MANDATORY_RATE_SHARE = 0.1;

export function slotLimits(connections: number, rate: RateLimit, mandatory: boolean): { connections: number; rate: RateLimit } {
  if (mandatory) return { connections, rate };
  return {
    connections: connections >= 4 ? connections - 1 : connections,
    rate: rate.count >= 10 ? { count: rate.count - Math.ceil(rate.count * MANDATORY_RATE_SHARE), perMs: rate.perMs } : rate,
  };
}
