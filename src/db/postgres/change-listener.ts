import pg from 'pg';
import { changeNotificationChannel } from '../migrations.js';
import type { NotifiedDataVersion } from './notified-data-version.js';

export interface ChangeListenerOptions {
  connection: pg.ClientConfig;
  version: NotifiedDataVersion;
  /** Whether a server process id is one of this node's own pooled connections. */
  ownBackend(processId: number): boolean;
  /** Wait before connecting again after the connection was lost. */
  retryMs?: number;
}

/**
 * One connection of its own that LISTENs for the notifications the tables' triggers send on every
 * committed change, by any node or any other client of the database, and moves the data version
 * for each. A lost connection is opened again after a pause; until then the version turns the
 * caches off, since the changes made meanwhile are not heard of.
 */
export class ChangeListener {
  private client: pg.Client | undefined;
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(private readonly options: ChangeListenerOptions) {}

  /** Connects and listens; fails as opening the database fails when the server cannot be reached. */
  static async start(options: ChangeListenerOptions): Promise<ChangeListener> {
    const listener = new ChangeListener(options);
    await listener.connect();
    return listener;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    this.options.version.setListening(false);
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.options.connection);
    const { version, ownBackend } = this.options;
    client.on('notification', (message) => version.notified(ownBackend(message.processId)));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(`listen ${changeNotificationChannel}`);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    version.setListening(true);
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.options.version.setListening(false);
    void client.end().catch(() => undefined);
    this.connectLater();
  }

  private connectLater(): void {
    if (this.closed) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect().catch(() => this.connectLater());
    }, this.options.retryMs ?? 1000);
    this.retry.unref();
  }
}
