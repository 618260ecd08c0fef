export interface IpCandidate {
  id: string;
  localAddress: string;
  ehloName: string;
  weight: number;
}

/** Weighted random choice among the IPs allowed to send now; `random` is injectable for tests. */
export function pickWeighted<T extends { weight: number }>(candidates: readonly T[], random: () => number = Math.random): T | undefined {
  const usable = candidates.filter((c) => c.weight > 0);
  const total = usable.reduce((sum, c) => sum + c.weight, 0);
  if (total <= 0) return undefined;
  let point = random() * total;
  for (const c of usable) {
    point -= c.weight;
    if (point < 0) return c;
  }
  return usable[usable.length - 1];
}
