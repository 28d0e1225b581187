/** A small least-recently-used map, bounded by entry count and, when given a weight per value, by total weight. */
export class Lru<K, V> {
  private readonly map = new Map<K, { value: V; weight: number }>();
  private total = 0;

  /**
   * `capacity`: most entries. `weigh` and `maxWeight`: each value's weight (e.g. bytes) and the most all may weigh
   * together; a value heavier than `maxWeight` on its own is not kept.
   */
  constructor(
    private readonly capacity: number,
    private readonly weigh: (value: V) => number = () => 0,
    private readonly maxWeight = Infinity,
  ) {
    if (!(capacity > 0)) throw new Error(`LRU capacity must be positive, got ${capacity}`);
    if (!(maxWeight > 0)) throw new Error(`LRU maxWeight must be positive, got ${maxWeight}`);
  }

  get(key: K): V | undefined {
    const entry = this.map.get(key);
    if (entry !== undefined) {
      this.map.delete(key);
      this.map.set(key, entry);
    }
    return entry?.value;
  }

  set(key: K, value: V): void {
    this.delete(key);
    const weight = this.weigh(value);
    if (weight > this.maxWeight) return;
    this.map.set(key, { value, weight });
    this.total += weight;
    while (this.map.size > this.capacity || this.total > this.maxWeight) this.delete(this.map.keys().next().value as K);
  }

  delete(key: K): void {
    const entry = this.map.get(key);
    if (entry === undefined) return;
    this.map.delete(key);
    this.total -= entry.weight;
  }

  /** The entries' total weight. */
  get weight(): number {
    return this.total;
  }

  get size(): number {
    return this.map.size;
  }
}
