import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { sql } from 'kysely';
import { preparedStatement } from '../db/prepared-query.js';
import type { Database, HookDeliveryState } from '../db/schema.js';
import type { AddressGuard, CheckedAddress } from './address-guard.js';
import { type HookRenderer, PackageGoneError, type StoredFacts } from './hook-renderer.js';
import { expandChanges } from './hook-outbox.js';
import { IdleGate, type NodeActivity } from './idle-gate.js';

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
  /** The node's requests, which deliveries yield to (for at most `yieldMs` in a row); none by default. */
  activity?: NodeActivity;
  yieldMs?: number;
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
  facts: string | null;
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
const pendingState = sql.lit<HookDeliveryState>('pending');
const maxRetryWaitMs = 60 * 60 * 1000;
/** Recorded changes turned into deliveries at each look. */
const changesPerLook = 100;
/** How long outcomes gather before they are committed together. */
const recordEveryMs = 20;

/**
 * Turns the outbox's changes into deliveries (`expandChanges`) and sends the deliveries
 * (`hook_deliveries` in state `pending`), each signed with its
 * hook's secret (`X-Hub-Signature-256`), within a timeout, to an address `AddressGuard` permits
 * (resolved and checked now, and connected to as checked, so a name cannot resolve differently
 * between the check and the connection). A failure (no connection, a timeout, an answer other than
 * 2xx) is retried with exponential backoff until a day after the event, then the delivery is
 * `failed`. A hook's deliveries for one package go one at a time, in the order of their events:
 * the next waits until the one before is delivered or given up.
 *
 * Sending yields to the requests the node is serving (`IdleGate`): a burst of pushes is not slowed
 * by the deliveries it causes, which follow it, at most `yieldMs` later.
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
  private readonly recorder: OutcomeRecorder;
  private readonly gate: IdleGate;

  constructor(
    private readonly db: Database,
    private readonly exclusively: <T>(name: string, run: () => Promise<T>) => Promise<T | undefined>,
    private readonly guard: AddressGuard,
    private readonly renderer: HookRenderer,
    private readonly log: DelivererLog,
    options: DelivererOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.concurrency = options.concurrency ?? 16;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retryBaseMs = options.retryBaseMs ?? 2000;
    this.giveUpAfterMs = options.giveUpAfterMs ?? 24 * 60 * 60 * 1000;
    this.clock = options.clock ?? (() => new Date());
    this.recorder = new OutcomeRecorder(db);
    this.gate = new IdleGate(options.activity ?? { lastIdleAt: () => performance.now() }, options.yieldMs ?? 1000);
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

  /**
   * Sends what is due until nothing is. Each hook and package is a lane: its oldest pending
   * delivery (the head) goes first, the next once the one before was answered with success; a
   * failed one holds its lane until its retry is due.
   */
  private async deliverDue(): Promise<void> {
    const lanes = new Map<string, Promise<void>>();
    let lanesEnded = 0;
    for (;;) {
      if (!this.stopped) {
        // A look waits too: during a burst every push would otherwise ask for the pending deliveries.
        await this.gate.pass(() => this.stopped);
        this.wanted = false;
        // The changes recorded since the last look become deliveries; a full batch means more wait.
        if ((await expandChanges(this.db, changesPerLook)) === changesPerLook) this.wanted = true;
        const endedBefore = lanesEnded;
        let heads = await this.dueHeads();
        if (lanesEnded !== endedBefore) {
          // A lane that ended during the look may have sent a head read before its outcome was
          // committed: sending that again would deliver it twice. Look again instead.
          heads = [];
          this.wanted = true;
        }
        for (const head of heads) {
          const key = `${head.hook_id} ${head.ordering_key}`;
          if (lanes.has(key) || lanes.size >= this.concurrency) continue;
          const lane = this.runLane(head)
            .catch((error: unknown) => this.log.error({ err: error, hook: head.hook_id }, 'recording a webhook delivery failed'))
            .finally(() => {
              lanes.delete(key);
              lanesEnded += 1;
              this.wanted = true;
              this.wakeUp?.();
            });
          lanes.set(key, lane);
        }
      }
      if (lanes.size === 0) return;
      // Until a lane ends or something new is poked.
      await new Promise<void>((resolve) => {
        this.wakeUp = resolve;
        if (this.wanted || this.stopped) resolve();
      });
      this.wakeUp = undefined;
      if (this.stopped) await Promise.all(lanes.values());
    }
  }

  /**
   * Sends a lane's deliveries in order from `head` while they succeed and are due. Outcomes are
   * committed in batches (`OutcomeRecorder`), not before the next delivery is sent: a crash then
   * sends again, in order and with their ids, those whose outcome was not committed yet. The lane
   * ends once all of its outcomes are, so that the next look at the heads sees them.
   */
  private async runLane(head: DueDelivery): Promise<void> {
    const recorded: Array<Promise<void>> = [];
    try {
      let batch: DueDelivery[] = [head];
      while (batch.length > 0 && !this.stopped) {
        let last: DueDelivery | undefined;
        for (const row of batch) {
          // Sending takes CPU the node's requests would otherwise have: a burst of pushes goes first.
          await this.gate.pass(() => this.stopped);
          if (this.stopped) return;
          const { goOn, record } = await this.deliver(row);
          recorded.push(record);
          if (!goOn) return;
          last = row;
        }
        batch = last ? await this.laneRows(last.hook_id, last.ordering_key, last.id) : [];
      }
    } finally {
      await Promise.all(recorded);
    }
  }

  /** The oldest pending delivery of each hook and package (each lane's head), where it is due. */
  private async dueHeads(): Promise<DueDelivery[]> {
    const heads = await this.db
      .selectFrom('hook_deliveries')
      .select((eb) => eb.fn.min('id').as('id'))
      // A literal, so that the index of pending deliveries applies (hook_deliveries_pending).
      .where('state', '=', pendingState)
      .groupBy(['hook_id', 'ordering_key'])
      .execute();
    if (heads.length === 0) return [];
    return this.deliveryQuery()
      .where('d.id', 'in', heads.map((head) => Number(head.id)))
      .where('d.next_attempt_at', '<=', this.clock().toISOString())
      .orderBy('d.id')
      .execute();
  }

  /** The next pending deliveries of a lane after `afterId`, up to the first that is not due. */
  private async laneRows(hookId: number, orderingKey: string, afterId: number): Promise<DueDelivery[]> {
    const rows = await this.deliveryQuery()
      .select('d.next_attempt_at')
      .where('d.hook_id', '=', hookId)
      .where('d.ordering_key', '=', orderingKey)
      .where('d.state', '=', pendingState)
      .where('d.id', '>', afterId)
      .orderBy('d.id')
      .limit(32)
      .execute();
    const now = this.clock().toISOString();
    const due = rows.findIndex((row) => row.next_attempt_at > now);
    return due < 0 ? rows : rows.slice(0, due);
  }

  private deliveryQuery() {
    return this.db
      .selectFrom('hook_deliveries as d')
      .innerJoin('hooks as h', 'h.id', 'd.hook_id')
      .select(['d.id', 'd.guid', 'd.hook_id', 'd.ordering_key', 'd.attempts', 'd.created_at', 'd.request_headers', 'd.body', 'd.facts', 'h.url', 'h.secret', 'h.insecure_ssl']);
  }

  /**
   * Sends one delivery; answers whether its lane goes on (it was delivered, or given up) and the
   * commit of its outcome.
   */
  private async deliver(row: DueDelivery): Promise<{ goOn: boolean; record: Promise<void> }> {
    // A package event's body is made at its first attempt, and kept for the others.
    const rendered = row.body === '' && row.facts !== null;
    if (rendered) {
      try {
        row = { ...row, body: await this.renderer.render(row.guid, row.created_at, JSON.parse(row.facts!) as StoredFacts) };
      } catch (error) {
        if (!(error instanceof PackageGoneError)) throw error;
        const now = this.clock().toISOString();
        const notSent: RecordedOutcome = { ...noAnswer, state: 'failed', attempts: Number(row.attempts), next_attempt_at: now, delivered_at: now, status: `not sent: ${error.message}`, body: row.body, request_headers: row.request_headers };
        return { goOn: true, record: this.recorder.record(row.id, notSent) };
      }
    }
    const outcome = await this.send(row);
    const now = this.clock();
    const attempts = Number(row.attempts) + 1;
    const retryAt = new Date(now.getTime() + Math.min(this.retryBaseMs * 2 ** (attempts - 1), maxRetryWaitMs));
    const givenUp = !outcome.ok && retryAt.getTime() > Date.parse(row.created_at) + this.giveUpAfterMs;
    const record = this.recorder.record(row.id, {
      state: outcome.ok ? 'delivered' : givenUp ? 'failed' : 'pending',
      attempts,
      next_attempt_at: outcome.ok || givenUp ? now.toISOString() : retryAt.toISOString(),
      delivered_at: now.toISOString(),
      status_code: outcome.statusCode,
      status: outcome.status,
      body: row.body,
      request_headers: JSON.stringify(outcome.sentHeaders),
      response_headers: outcome.headers && JSON.stringify(outcome.headers),
      response_body: outcome.body,
      duration_ms: Math.round(outcome.durationMs),
    });
    if (!outcome.ok) {
      // The URL may carry a receiver's token in its query: the log names the hook, not the URL.
      this.log.warn({ hook: row.hook_id, delivery: row.guid, attempts, status: outcome.status, ...(givenUp ? {} : { retryAt: retryAt.toISOString() }) }, givenUp ? 'webhook delivery given up' : 'webhook delivery failed');
    }
    // A given-up delivery no longer holds its lane; a failed one waits for its outcome, which says when to retry.
    if (!outcome.ok) await record;
    return { goOn: outcome.ok || givenUp, record };
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

/** What a delivery's row says after an attempt. */
interface RecordedOutcome {
  state: HookDeliveryState;
  attempts: number;
  next_attempt_at: string;
  delivered_at: string;
  status_code: number | null;
  status: string;
  body: string;
  request_headers: string;
  response_headers: string | null;
  response_body: string | null;
  duration_ms: number | null;
}

const noAnswer = { status_code: null, response_headers: null, response_body: null, duration_ms: null };

/**
 * Writes the outcomes of deliveries in batches, one transaction every few milliseconds: a commit
 * (an fsync on SQLite) per delivery would compete with pushes for the writer.
 */
class OutcomeRecorder {
  private queued: Array<{ id: number; outcome: RecordedOutcome; done: () => void; failed: (error: unknown) => void }> = [];
  private scheduled = false;
  /** Each delivery sent writes one: compiled once. Only a pending delivery is changed: one deleted with its hook meanwhile stays deleted. */
  private readonly update;

  constructor(private readonly db: Database) {
    this.update = preparedStatement<never, [number, ...RecordedOutcomeValues]>(
      (id: never, state: never, attempts: never, nextAttemptAt: never, deliveredAt: never, statusCode: never, status: never, body: never, requestHeaders: never, responseHeaders: never, responseBody: never, durationMs: never) =>
        db
          .updateTable('hook_deliveries')
          .set({
            state,
            attempts,
            next_attempt_at: nextAttemptAt,
            delivered_at: deliveredAt,
            status_code: statusCode,
            status,
            body,
            request_headers: requestHeaders,
            response_headers: responseHeaders,
            response_body: responseBody,
            duration_ms: durationMs,
          })
          .where('id', '=', id)
          .where('state', '=', 'pending'),
    );
  }

  record(id: number, outcome: RecordedOutcome): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queued.push({ id, outcome, done: resolve, failed: reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setTimeout(() => void this.flush(), recordEveryMs);
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queued;
    this.queued = [];
    this.scheduled = false;
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const { id, outcome: o } of batch) {
          await this.update(trx, id, o.state, o.attempts, o.next_attempt_at, o.delivered_at, o.status_code, o.status, o.body, o.request_headers, o.response_headers, o.response_body, o.duration_ms);
        }
      });
      for (const each of batch) each.done();
    } catch (error) {
      for (const each of batch) each.failed(error);
    }
  }
}

type RecordedOutcomeValues = [HookDeliveryState, number, string, string, number | null, string, string, string, string | null, string | null, number | null];
