import { createHash } from 'node:crypto';
import pg from 'pg';
import { LocalLocks } from '../local-locks.js';

/**
 * Locks that one node holds across the database's nodes while a run goes on: a job that must run
 * once (the sweep), or a write to one upload. PostgreSQL session advisory locks, all taken on one
 * connection of the node's own rather than a pooled one, so that a run of any length (a PATCH of
 * gigabytes) does not keep a connection from the pool, and so that a node that dies lets go of
 * every lock it held when its connection drops. A lost connection loses the locks of the runs
 * still going on; they finish unguarded, and the next run connects again.
 */
export class NodeLocks {
  private readonly local = new LocalLocks();
  private client: Promise<pg.Client> | undefined;

  constructor(private readonly connection: pg.ClientConfig) {}

  /** Runs `run` holding the lock `name`: undefined, without running it, while any run holds it. */
  exclusively<T>(name: string, run: () => Promise<T>): Promise<T | undefined> {
    // Session locks are re-entrant: without the local guard, two runs of this node would both get it.
    return this.local.exclusively(name, async () => {
      const connected = this.connected();
      const client = await connected;
      const key = advisoryLockKey(name).toString();
      const { rows } = await client.query<{ locked: boolean }>('select pg_try_advisory_lock($1::bigint) as locked', [key]);
      if (!rows[0]?.locked) return undefined;
      try {
        return await run();
      } finally {
        // On a connection opened since, the lock is long gone, and unlocking it would only warn.
        if (this.client === connected) await client.query('select pg_advisory_unlock($1::bigint)', [key]).catch(() => undefined);
      }
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.then((opened) => opened.end()).catch(() => undefined);
  }

  private connected(): Promise<pg.Client> {
    if (this.client) return this.client;
    const client = new pg.Client(this.connection);
    const opening = client.connect().then(() => client);
    const lost = () => {
      if (this.client === opening) this.client = undefined;
    };
    client.on('error', lost);
    client.on('end', lost);
    opening.catch(lost);
    this.client = opening;
    return opening;
  }
}

/** The 64-bit advisory lock key of a name (`pg_locks` shows it as `classid`, the high half, and `objid`). */
export function advisoryLockKey(name: string): bigint {
  return createHash('sha256').update(`berth:${name}`).digest().readBigInt64BE(0);
}
