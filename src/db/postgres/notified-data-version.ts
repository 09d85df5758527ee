import type { DataVersion } from '../engine.js';

/**
 * The data version of a PostgreSQL database that other nodes write to. Every committed write, by
 * any connection, notifies the listening nodes (see `change-listener.ts`); this node's own writes
 * also count as they finish, so a read that follows a write on this node never meets a cached
 * result from before it. While no listener is connected the version is new at every call, which
 * turns the caches off until notifications arrive again.
 */
export class NotifiedDataVersion implements DataVersion {
  private version = 0;
  private externalChanges = 0;
  private listening = false;

  current(): number {
    return this.listening ? this.version : ++this.version;
  }

  external(): number {
    return this.listening ? this.externalChanges : ++this.externalChanges;
  }

  /** A statement of this node that may have written has finished (a commit among them). */
  wrote(): void {
    this.version++;
  }

  /** A committed change was announced; `byThisNode` when one of this node's connections made it. */
  notified(byThisNode: boolean): void {
    this.version++;
    if (!byThisNode) this.externalChanges++;
  }

  /**
   * The listener connected or lost its connection. Either way, changes may have been missed
   * while it was away, so nothing cached before counts.
   */
  setListening(listening: boolean): void {
    this.listening = listening;
    this.version++;
    this.externalChanges++;
  }
}
