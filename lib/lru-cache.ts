/**
 * A bounded synchronous cache: at most `max` entries, the least recently used goes first. For
 * values keyed by what callers send (locales, currencies), so the key space never sets the size.
 */
export class LruCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly max: number) {}

  /** The held value (now the most recently used), else `make()`'s, kept. */
  getOrMake(key: K, make: () => V): V {
    if (this.entries.has(key)) {
      const hit = this.entries.get(key) as V;
      // A Map iterates in insertion order: re-inserting marks the key as the newest.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const value = make();
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, value);
    return value;
  }

  get size(): number {
    return this.entries.size;
  }
}
