/**
 * A memo bounded by the bytes its entries take (as the caller estimates them), least recently
 * used evicted first, and entries dropped once they expire. A bound by count would let a few
 * large entries take any amount of memory.
 */
export class LruBySize<V> {
  /** In order of use, least recent first: a Map keeps insertion order, and a hit re-inserts. */
  private readonly entries = new Map<string, { value: V; bytes: number; expiresAt: number }>();
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  /** The estimated bytes held. */
  get bytes(): number {
    return this.total;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    if (entry.expiresAt <= now) {
      this.total -= entry.bytes;
      return undefined;
    }
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, bytes: number, expiresAt: number): void {
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.total -= previous.bytes;
    }
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { value, bytes, expiresAt });
    this.total += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.total -= entry.bytes;
    }
  }
}
