import { redactAddresses } from './redact.js';

/**
 * Why a step stops short, as domain/ says it (it knows nothing of Temporal; activities/failures.ts
 * turns it into the workflow's failure):
 * - retry: the same step may succeed later, after `afterMs` when that is known;
 * - failed: it never will; the workflow moves on (fallback) at once.
 * Reasons end up in workflow histories, so e-mail addresses are removed from them.
 */
export type Stop = { kind: 'retry'; type: string; reason: string; afterMs?: number } | { kind: 'failed'; type: string; reason: string };

/** A Stop thrown from deep inside a step (a route choice, a render); the activity edge converts it. */
export class Refusal extends Error {
  /** The mailbox provider a route refusal concerns (a wait for an IP), when known. */
  provider?: string;

  constructor(readonly stop: Stop) {
    super(stop.reason);
    this.name = 'Refusal';
  }

  get type(): string {
    return this.stop.type;
  }

  /** The wait a retry should keep, when known. */
  get retryAfterMs(): number | undefined {
    return this.stop.kind === 'retry' ? this.stop.afterMs : undefined;
  }
}

export function retryStop(type: string, message: string, afterMs?: number): Stop {
  return { kind: 'retry', type, reason: redactAddresses(message), ...(afterMs === undefined ? {} : { afterMs }) };
}

export function failedStop(type: string, message: string): Stop {
  return { kind: 'failed', type, reason: redactAddresses(message) };
}

/** A refusal the same step may get past later (the workflow's retry policy tries again). */
export function transient(type: string, message: string, afterMs?: number): Refusal {
  return new Refusal(retryStop(type, message, afterMs));
}

/** A refusal no retry gets past. */
export function permanent(type: string, message: string): Refusal {
  return new Refusal(failedStop(type, message));
}

/** A step whose refusals from deep inside (a route choice, a template) come back as their Stop, not thrown. */
export function stopping<A extends unknown[], R>(step: (...args: A) => Promise<R | Stop>): (...args: A) => Promise<R | Stop> {
  return async (...args) => {
    try {
      return await step(...args);
    } catch (err) {
      if (err instanceof Refusal) return err.stop;
      throw err;
    }
  };
}
