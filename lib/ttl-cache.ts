/**
 * A small in-process cache for hot paths: entries expire `ttlMs` after they were loaded,
 * at most `max` are kept (the oldest go first), and concurrent misses for one key share a
 * single load. A load that finds nothing (undefined) is not kept, so the next call asks again.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number }>();
  private readonly loading = new Map<K, Promise<V | undefined>>();
  /** Bumped by clear(): a load that started before is not kept (it may have read what clear() was for). */
  private generation = 0;

  constructor(
    readonly ttlMs: number,
    private readonly max: number,
  ) {}

  async get(key: K, load: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.entries.get(key);
    if (hit && hit.expires > Date.now()) return hit.value;
    if (hit) this.entries.delete(key);
    const pending = this.loading.get(key);
    if (pending) return pending;
    const generation = this.generation;
    const loaded = load()
      .then((value) => {
        if (value !== undefined && generation === this.generation) this.set(key, value);
        return value;
      })
      .finally(() => this.loading.delete(key));
    this.loading.set(key, loaded);
    return loaded;
  }

  /** The value if held and fresh, without loading. */
  peek(key: K): V | undefined {
    const hit = this.entries.get(key);
    return hit && hit.expires > Date.now() ? hit.value : undefined;
  }

  /** Forgets one entry, so the next get loads it again. */
  delete(key: K): void {
    this.entries.delete(key);
  }

  /** Forgets everything (a key revoked or a tenant suspended somewhere: cheaper than knowing which entries). */
  clear(): void {
    this.generation++;
    this.entries.clear();
    this.loading.clear();
  }

  private set(key: K, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs });
  }
}
