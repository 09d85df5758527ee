import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Database } from '../db/schema.js';
import type { AddressGuard, CheckedAddress } from './address-guard.js';

export interface DelivererOptions {
  /** How often to look for deliveries this node was not told of: other nodes' and the CLI's, and retries that came due. */
  pollMs?: number;
  /** Deliveries in flight at once (each to a different hook or package). */
  concurrency?: number;
  /** A delivery that has not been answered in full by then has failed. */
  timeoutMs?: number;
  /** The wait after the first failure; it doubles after each, up to an hour. */
  retryBaseMs?: number;
  /** A delivery still failing this long after its event is given up. */
  giveUpAfterMs?: number;
  clock?: () => Date;
}

export interface DelivererLog {
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

/** A due delivery with what sending it needs of its hook. */
interface DueDelivery {
  id: number;
  guid: string;
  hook_id: number;
  ordering_key: string;
  attempts: number;
  created_at: string;
  request_headers: string;
  body: string;
  url: string;
  secret: string;
  insecure_ssl: number;
}

interface Outcome {
  ok: boolean;
  statusCode: number | null;
  status: string;
  headers: Record<string, string> | null;
  body: string | null;
  durationMs: number;
  sentHeaders: Record<string, string>;
}

const maxResponseBytes = 4096;
const maxRetryWaitMs = 60 * 60 * 1000;

/**
 * Sends the outbox's deliveries (`hook_deliveries` in state `pending`), each signed with its
 * hook's secret (`X-Hub-Signature-256`), within a timeout, to an address `AddressGuard` permits
 * (resolved and checked now, and connected to as checked, so a name cannot resolve differently
 * between the check and the connection). A failure (no connection, a timeout, an answer other than
 * 2xx) is retried with exponential backoff until a day after the event, then the delivery is
 * `failed`. A hook's deliveries for one package go one at a time, in the order of their events:
 * the next waits until the one before is delivered or given up.
 *
 * All sending runs under `exclusively('hook-deliveries')`, so that nodes sharing a database never
 * send one delivery twice at once; the node holding it sends everyone's, and another takes over
 * when that node stops or dies. A delivery is marked delivered after its answer, so one sent by a
 * node that dies before recording it is sent again with the same delivery id: at least once.
 */
export class HookDeliverer {
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly retryBaseMs: number;
  private readonly giveUpAfterMs: number;
  private readonly clock: () => Date;
  private readonly agents = { http: new http.Agent({ keepAlive: true, maxSockets: 4 }), https: new https.Agent({ keepAlive: true, maxSockets: 4 }) };
  private poller: NodeJS.Timeout | undefined;
  private wanted = false;
  private running: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly exclusively: <T>(name: string, run: () => Promise<T>) => Promise<T | undefined>,
    private readonly guard: AddressGuard,
    private readonly log: DelivererLog,
    options: DelivererOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.concurrency = options.concurrency ?? 16;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retryBaseMs = options.retryBaseMs ?? 2000;
    this.giveUpAfterMs = options.giveUpAfterMs ?? 24 * 60 * 60 * 1000;
    this.clock = options.clock ?? (() => new Date());
  }

  start(): void {
    this.poller = setInterval(() => this.poke(), this.pollMs);
    this.poller.unref();
    this.poke();
  }

  /** Something may be due: look now (or as soon as the current look ends). */
  poke(): void {
    if (this.stopped) return;
    this.wanted = true;
    this.wakeUp?.();
    this.running ??= this.loop().finally(() => {
      this.running = undefined;
      if (this.wanted && !this.stopped) this.poke();
    });
  }

  /** Stops looking; waits for the deliveries in flight, whose outcome is recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poller);
    this.wakeUp?.();
    await this.running;
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async loop(): Promise<void> {
    while (this.wanted && !this.stopped) {
      this.wanted = false;
      try {
        await this.exclusively('hook-deliveries', () => this.deliverDue());
      } catch (error) {
        this.log.error({ err: error }, 'sending webhook deliveries failed');
      }
    }
  }

  /** Sends what is due until nothing is, or nothing can be sent before an earlier delivery of its package. */
  private async deliverDue(): Promise<void> {
    const inFlight = new Map<string, Promise<void>>();
    for (;;) {
      if (!this.stopped) {
        this.wanted = false;
        for (const row of await this.due()) {
          const key = `${row.hook_id} ${row.ordering_key}`;
          if (inFlight.has(key) || inFlight.size >= this.concurrency) continue;
          const sending = this.deliver(row)
            .catch((error: unknown) => this.log.error({ err: error, hook: row.hook_id, delivery: row.guid }, 'recording a webhook delivery failed'))
            .finally(() => {
              inFlight.delete(key);
              this.wanted = true;
              this.wakeUp?.();
            });
          inFlight.set(key, sending);
        }
      }
      if (inFlight.size === 0) return;
      // Until a delivery ends (its package's next may be due) or something new is poked.
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        if (this.wanted || this.stopped) resolve();
      });
      this.wakeUp = undefined;
      if (this.stopped) await Promise.all(inFlight.values());
    }
  }

  /** Pending deliveries that are due and have no earlier pending delivery of the same hook and package. */
  private due(): Promise<DueDelivery[]> {
    return this.db
      .selectFrom('hook_deliveries as d')
      .innerJoin('hooks as h', 'h.id', 'd.hook_id')
      .select(['d.id', 'd.guid', 'd.hook_id', 'd.ordering_key', 'd.attempts', 'd.created_at', 'd.request_headers', 'd.body', 'h.url', 'h.secret', 'h.insecure_ssl'])
      .where('d.state', '=', 'pending')
      .where('d.next_attempt_at', '<=', this.clock().toISOString())
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('hook_deliveries as e')
              .select('e.id')
              .whereRef('e.hook_id', '=', 'd.hook_id')
              .whereRef('e.ordering_key', '=', 'd.ordering_key')
              .where('e.state', '=', 'pending')
              .whereRef('e.id', '<', 'd.id'),
          ),
        ),
      )
      .orderBy('d.id')
      .limit(this.concurrency * 4)
      .execute();
  }

  private async deliver(row: DueDelivery): Promise<void> {
    const outcome = await this.send(row);
    const now = this.clock();
    const attempts = Number(row.attempts) + 1;
    const retryAt = new Date(now.getTime() + Math.min(this.retryBaseMs * 2 ** (attempts - 1), maxRetryWaitMs));
    const givenUp = !outcome.ok && retryAt.getTime() > Date.parse(row.created_at) + this.giveUpAfterMs;
    await this.db
      .updateTable('hook_deliveries')
      .set({
        state: outcome.ok ? 'delivered' : givenUp ? 'failed' : 'pending',
        attempts,
        next_attempt_at: outcome.ok || givenUp ? now.toISOString() : retryAt.toISOString(),
        delivered_at: now.toISOString(),
        status_code: outcome.statusCode,
        status: outcome.status,
        request_headers: JSON.stringify(outcome.sentHeaders),
        response_headers: outcome.headers && JSON.stringify(outcome.headers),
        response_body: outcome.body,
        duration_ms: Math.round(outcome.durationMs),
      })
      .where('id', '=', row.id)
      .where('state', '=', 'pending')
      .execute();
    if (!outcome.ok) {
      // The URL may carry a receiver's token in its query: the log names the hook, not the URL.
      this.log.warn({ hook: row.hook_id, delivery: row.guid, attempts, status: outcome.status, ...(givenUp ? {} : { retryAt: retryAt.toISOString() }) }, givenUp ? 'webhook delivery given up' : 'webhook delivery failed');
    }
  }

  private async send(row: DueDelivery): Promise<Outcome> {
    const started = performance.now();
    const body = Buffer.from(row.body, 'utf8');
    const sentHeaders: Record<string, string> = JSON.parse(row.request_headers) as Record<string, string>;
    if (row.secret !== '') sentHeaders['X-Hub-Signature-256'] = `sha256=${createHmac('sha256', row.secret).update(body).digest('hex')}`;
    const failed = (status: string, statusCode: number | null = null, headers: Record<string, string> | null = null, text: string | null = null): Outcome => ({
      ok: false,
      statusCode,
      status,
      headers,
      body: text,
      durationMs: performance.now() - started,
      sentHeaders,
    });
    let url: URL;
    let address: CheckedAddress;
    try {
      url = new URL(row.url);
      [address] = (await this.guard.addressesOf(url)) as [CheckedAddress];
    } catch (error) {
      return failed(`refused: ${(error as Error).message}`);
    }
    const secure = url.protocol === 'https:';
    // Connect to the address just checked, whatever a second resolution would answer.
    const lookup: LookupFunction = (_host, options, callback) => {
      if ((options as { all?: boolean }).all) (callback as unknown as (error: null, addresses: Array<{ address: string; family: number }>) => void)(null, [address]);
      else callback(null, address.address, address.family);
    };
    return new Promise<Outcome>((resolve) => {
      const request = (secure ? https : http).request(
        {
          method: 'POST',
          protocol: url.protocol,
          hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port || (secure ? 443 : 80),
          path: `${url.pathname}${url.search}`,
          headers: { ...sentHeaders, 'Content-Length': String(body.length) },
          lookup,
          agent: secure ? this.agents.https : this.agents.http,
          ...(secure ? { rejectUnauthorized: row.insecure_ssl !== 1 } : {}),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          response.on('data', (chunk: Buffer) => {
            if (kept < maxResponseBytes) chunks.push(chunk.subarray(0, maxResponseBytes - kept));
            kept += chunk.length;
          });
          response.on('error', (error) => finish(failed(error.message)));
          response.on('end', () => {
            const code = response.statusCode ?? 0;
            const headers = Object.fromEntries(Object.entries(response.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)]));
            const text = Buffer.concat(chunks).toString('utf8');
            if (code >= 200 && code < 300) finish({ ok: true, statusCode: code, status: 'OK', headers, body: text, durationMs: performance.now() - started, sentHeaders });
            else finish(failed(`Invalid HTTP Response: ${code}`, code, headers, text));
          });
        },
      );
      const timer = setTimeout(() => request.destroy(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
      let done = false;
      const finish = (outcome: Outcome) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      request.on('error', (error) => finish(failed(error.message)));
      request.end(body);
    });
  }
}
