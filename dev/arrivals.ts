// Lets a test await "n items have arrived" on a list a local server appends to.
export function arrivals<T>(items: T[], label: string) {
  const waiters = new Set<() => void>();
  return {
    /** call after appending to `items` */
    notify(): void {
      for (const wake of waiters) wake();
    },
    waitFor(n: number, timeoutMs = 5000): Promise<T[]> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (items.length < n) return;
          cleanup();
          resolve(items.slice(0, n));
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`${label}: ${items.length}/${n} arrived after ${timeoutMs}ms`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}
