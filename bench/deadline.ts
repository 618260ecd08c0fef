// Every wait in the bench has a deadline: a phase that runs out of time is cut, and what it had
// measured is kept with the reason, so a run always ends and always writes its results.

/** A wait that ran past its deadline. */
export class Cut extends Error {
  override name = 'Cut';
}

/** `work`, or a Cut after `ms`. The work itself is not stopped (the stack's shutdown ends it), only no longer awaited. */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Cut(`${what}: no answer within ${Math.round(ms / 1000)} s`)), Math.max(0, ms));
  });
  // A rejection after the deadline has nobody waiting for it any more.
  work.catch(() => {});
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

export const secondsLeft = (deadline: number) => Math.max(0, Math.round((deadline - Date.now()) / 1000));
