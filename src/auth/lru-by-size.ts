/**
 * A memo bounded by the bytes its entries take (as the caller estimates them), least recently
 * used evicted first, and entries dropped once they expire. A bound by count would let a few
 * large entries take any amount of memory.
 *
 * The order of use is kept by a second chance, not by moving each hit: a hit only marks its
 * entry, and an eviction that meets a marked entry unmarks it and moves it to the recent end
 * instead of dropping it. A hit (every registry-token request has one) then leaves the map alone;
 * deleting and re-inserting a key on each hit made the map rehash itself every few hits.
 */
export class LruBySize<V> {
  /** In insertion order, oldest first: a Map keeps it, and an entry given a second chance is re-inserted. */
  private readonly entries = new Map<string, { value: V; bytes: number; expiresAt: number; used: boolean }>();
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  /** The estimated bytes held. */
  get bytes(): number {
    return this.total;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      this.total -= entry.bytes;
      return undefined;
    }
    entry.used = true;
    return entry.value;
  }

  set(key: string, value: V, bytes: number, expiresAt: number): void {
    const previous = this.entries.get(key);
    if (previous) {
      this.entries.delete(key);
      this.total -= previous.bytes;
    }
    if (bytes > this.maxBytes) return;
    this.entries.set(key, { value, bytes, expiresAt, used: false });
    this.total += bytes;
    // Ends: each entry is met at most twice (once marked, once not) before it goes, and the entry
    // just set is unmarked and alone fits.
    for (const [oldest, entry] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(oldest);
      if (entry.used) {
        entry.used = false;
        this.entries.set(oldest, entry);
      } else {
        this.total -= entry.bytes;
      }
    }
  }
}
