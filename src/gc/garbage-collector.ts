import { setImmediate } from 'node:timers/promises';
import { type Expression, type ExpressionBuilder, type SqlBool, type Transaction, sql } from 'kysely';
import type { DatabaseEngine } from '../db/engine.js';
import type { Database, Schema } from '../db/schema.js';
import type { Digest } from '../oci/digest.js';
import type { BlobStore, StoredBlob } from '../storage/blob-store.js';
import { RestorableBlobs } from './restorable-blobs.js';

export interface CollectionReport {
  /** Nothing was removed: the figures say what a collection would have removed. */
  dryRun: boolean;
  startedAt: string;
  durationMs: number;
  /** Links of blobs to repositories that no manifest there needed, live or restorable. */
  linksRemoved: number;
  /** Blobs no repository linked any more, with their bytes. */
  blobsRemoved: number;
  bytesReclaimed: number;
  /** Bytes in the store that no metadata recorded (a commit that a crash cut short). */
  orphansRemoved: number;
  orphanBytesReclaimed: number;
  /** Bytes of the blobs the metadata records once the collection is done. */
  bytesStored: number;
}

export interface CollectorOptions {
  /**
   * Links, blobs and stored bytes younger than this are left alone, whatever references them:
   * a client that just pushed a blob may be about to push the manifest that needs it.
   */
  graceMs: number;
  /**
   * Stored bytes that no row records are left alone this long (`graceMs` by default): a blob's
   * commit stores its bytes a moment before the row that records them.
   */
  orphanGraceMs?: number;
  /** Rows decided in one transaction: small enough that a push never waits long behind one. */
  batchSize?: number;
  now?: () => Date;
}

type Executor = Transaction<Schema>;

/**
 * Online garbage collection: removes the blobs that no live or restorable manifest needs, while
 * pushes and pulls go on. Three steps, each in small batches:
 *
 * 1. Links of blobs to repositories that no manifest of the repository references, and that no
 *    deleted version of it that can still be restored mentions, once older than the grace period.
 *    Each batch locks its links (skipping those a push holds) and checks the references again
 *    inside its transaction; a manifest push checks and locks the links it needs inside its own
 *    (`RegistryMetadata.requireLinkedBlobs`), so a manifest is never stored on a link removed.
 * 2. Blobs no repository links any more. A batch marks them `deleting` in one transaction, which
 *    `RegistryMetadata.linkBlob` then refuses to link again; their bytes are deleted from the
 *    store; then their rows. A crash between the steps leaves marked rows, which the sweep
 *    finishes (`finishCutShort`), or else the next collection.
 * 3. Bytes in the store that no row records, once older than the grace period.
 *
 * A dry run only reads, in the same batches: it counts the links the first step would remove,
 * and the blobs all of whose links are such links. It holds no transaction and no lock, so
 * pushes go on meanwhile as they do during a collection.
 */
export class GarbageCollector {
  private readonly batchSize: number;
  private readonly now: () => Date;

  constructor(
    private readonly engine: DatabaseEngine,
    private readonly store: BlobStore,
    private readonly options: CollectorOptions,
  ) {
    this.batchSize = options.batchSize ?? 100;
    this.now = options.now ?? (() => new Date());
  }

  async collect({ dryRun = false }: { dryRun?: boolean } = {}): Promise<CollectionReport> {
    const started = this.now();
    const cutoff = new Date(started.getTime() - this.options.graceMs).toISOString();
    const report: CollectionReport = {
      dryRun,
      startedAt: started.toISOString(),
      durationMs: 0,
      linksRemoved: 0,
      blobsRemoved: 0,
      bytesReclaimed: 0,
      orphansRemoved: 0,
      orphanBytesReclaimed: 0,
      bytesStored: 0,
    };
    if (dryRun) {
      await this.foresee(cutoff, report);
    } else {
      await this.removeUnneededLinks(cutoff, report, new RestorableBlobs());
      await this.removeUnlinkedBlobs(cutoff, report);
      report.bytesStored = await this.batch((trx) => this.bytesStored(trx));
    }
    const orphanCutoff = new Date(started.getTime() - (this.options.orphanGraceMs ?? this.options.graceMs));
    await this.removeOrphans(orphanCutoff, report, dryRun);
    report.durationMs = this.now().getTime() - started.getTime();
    return report;
  }

  /**
   * Finishes the blobs that a collection cut short (a crash, a store that failed) left marked
   * `deleting`: `linkBlob` refuses them, so a client told to push one again could not until the
   * next collection. They can never be linked again, so this is safe whenever no collection runs.
   */
  async finishCutShort(): Promise<Pick<CollectionReport, 'blobsRemoved' | 'bytesReclaimed'>> {
    const finished = { blobsRemoved: 0, bytesReclaimed: 0 };
    await this.removeUnlinkedBlobs(undefined, finished);
    return finished;
  }

  /** Whether some blob is marked `deleting`: a collection runs, or one was cut short. */
  async anyMarked(): Promise<boolean> {
    return (await this.engine.db.selectFrom('blobs').select('digest').where('deleting', '=', 1).limit(1).executeTakeFirst()) !== undefined;
  }

  /** Runs one batch in its own transaction, after the requests that arrived meanwhile. */
  private readonly batch: Batcher = async (work) => {
    await yieldToRequests();
    await this.engine.beforeWrites();
    return this.engine.db.transaction().execute(work);
  };

  private async removeUnneededLinks(cutoff: string, report: CollectionReport, restorable: RestorableBlobs): Promise<void> {
    for await (const candidates of this.unneededLinks(cutoff)) {
      report.linksRemoved += await this.batch(async (trx) => {
        // A link removed and then lost to a crash is only collected again.
        await this.engine.relaxCommit(trx);
        let removed = 0;
        for (const [repositoryId, digests] of byRepository(candidates)) removed += await this.removeLinks(trx, repositoryId, digests, cutoff, restorable);
        return removed;
      });
    }
  }

  /**
   * The old links that no manifest of their repository references, a batch at a time, each read
   * after the requests that arrived meanwhile. A collection removes some of them between batches.
   */
  private async *unneededLinks(cutoff: string): AsyncGenerator<Array<{ repository_id: number; digest: string }>> {
    let after = { repositoryId: 0, digest: '' };
    for (;;) {
      await yieldToRequests();
      const candidates = await this.unneededLinksAfter(cutoff, after);
      if (candidates.length === 0) return;
      yield candidates;
      if (candidates.length < this.batchSize) return;
      const last = candidates.at(-1)!;
      after = { repositoryId: last.repository_id, digest: last.digest };
    }
  }

  private unneededLinksAfter(cutoff: string, after: { repositoryId: number; digest: string }): Promise<Array<{ repository_id: number; digest: string }>> {
    return this.engine.db
      .selectFrom('repository_blobs as rb')
      .select(['rb.repository_id', 'rb.digest'])
      .where((eb) => isUnneededLink(eb, cutoff))
      // As a row value, the key's index is searched from where the last batch ended, not scanned.
      .where(({ eb, refTuple, tuple }) => eb(refTuple('rb.repository_id', 'rb.digest'), '>', tuple(after.repositoryId, after.digest)))
      .orderBy('rb.repository_id')
      .orderBy('rb.digest')
      .limit(this.batchSize)
      .execute();
  }

  /** Removes the repository's links among `digests` that are still old and still unneeded. */
  private async removeLinks(trx: Executor, repositoryId: number, digests: string[], cutoff: string, restorable: RestorableBlobs): Promise<number> {
    const { dialect } = this.engine;
    const locked = await dialect
      .lockRows(
        trx.selectFrom('repository_blobs').select('digest').where('repository_id', '=', repositoryId).where('digest', 'in', digests).where('created_at', '<', cutoff),
        'skip-locked',
      )
      .execute();
    if (locked.length === 0) return 0;
    // Asked again now that the links are held: a manifest committed since may reference them.
    const referenced = new Set(
      (
        await trx
          .selectFrom('manifest_references')
          .select('referenced_digest')
          .where('repository_id', '=', repositoryId)
          .where(
            'referenced_digest',
            'in',
            locked.map((row) => row.digest),
          )
          .execute()
      ).map((row) => row.referenced_digest),
    );
    const kept = await restorable.of(trx, repositoryId);
    const unneeded = locked.map((row) => row.digest).filter((digest) => !referenced.has(digest) && !kept.has(digest));
    if (unneeded.length === 0) return 0;
    await trx.deleteFrom('repository_blobs').where('repository_id', '=', repositoryId).where('digest', 'in', unneeded).execute();
    return unneeded.length;
  }

  /** Blobs marked `deleting`, and, with a cutoff, blobs older than it that no repository links. */
  private async removeUnlinkedBlobs(cutoff: string | undefined, report: Pick<CollectionReport, 'blobsRemoved' | 'bytesReclaimed'>): Promise<void> {
    const { batch } = this;
    let after = '';
    for (;;) {
      const candidates = await batch((trx) =>
        trx
          .selectFrom('blobs as b')
          .select(['b.digest', 'b.size', sql<number>`case when b.content is null then 1 else 0 end`.as('in_store')])
          .where('b.digest', '>', after)
          .where(({ eb, or, and, not, exists, selectFrom }) =>
            cutoff === undefined
              ? eb('b.deleting', '=', 1)
              : or([
                  eb('b.deleting', '=', 1),
                  and([eb('b.created_at', '<', cutoff), not(exists(selectFrom('repository_blobs as rb').select(sql`1`.as('one')).whereRef('rb.digest', '=', 'b.digest')))]),
                ]),
          )
          .orderBy('b.digest')
          .limit(this.batchSize)
          .execute(),
      );
      if (candidates.length === 0) return;
      const marked = await batch((trx) => this.markDeleting(trx, candidates.map((blob) => blob.digest)));
      const removing = candidates.filter((blob) => marked.has(blob.digest));
      for (const blob of removing) if (blob.in_store) await this.store.delete(blob.digest as Digest);
      await batch(async (trx) => {
        // Rows lost to a crash stay marked, and the sweep (`finishCutShort`) deletes them.
        await this.engine.relaxCommit(trx);
        await trx.deleteFrom('blobs').where('digest', 'in', [...marked]).where('deleting', '=', 1).execute();
      });
      report.blobsRemoved += removing.length;
      report.bytesReclaimed += removing.reduce((sum, blob) => sum + Number(blob.size), 0);
      after = candidates.at(-1)!.digest;
      if (candidates.length < this.batchSize) return;
    }
  }

  /**
   * Marks the blobs among `digests` that no repository links, holding their rows: from the
   * commit on, `linkBlob` refuses them, so no link can appear while their bytes are deleted.
   */
  private async markDeleting(trx: Executor, digests: string[]): Promise<Set<string>> {
    const locked = await this.engine.dialect.lockRows(trx.selectFrom('blobs').select('digest').where('digest', 'in', digests), 'skip-locked').execute();
    if (locked.length === 0) return new Set();
    const held = locked.map((row) => row.digest);
    const linked = new Set((await trx.selectFrom('repository_blobs').select('digest').distinct().where('digest', 'in', held).execute()).map((row) => row.digest));
    const unlinked = held.filter((digest) => !linked.has(digest));
    if (unlinked.length > 0) await trx.updateTable('blobs').set({ deleting: 1 }).where('digest', 'in', unlinked).execute();
    return new Set(unlinked);
  }

  private async bytesStored(db: Database): Promise<number> {
    const row = await db.selectFrom('blobs').select((eb) => eb.fn.coalesce(eb.fn.sum<number>('size'), sql<number>`0`).as('bytes')).executeTakeFirst();
    return Number(row?.bytes ?? 0);
  }

  /**
   * A dry run's figures, in the collection's batches, reading only. The first step's links are
   * counted as they are met; a blob counts once every link it has is one that step would remove,
   * asked again for the blob's links. It holds a batch, and the blobs of restorable versions,
   * however many links and blobs a collection would remove.
   */
  private async foresee(cutoff: string, report: CollectionReport): Promise<void> {
    const { db } = this.engine;
    const restorable = new RestorableBlobs();
    const removable = async (links: ReadonlyArray<{ repository_id: number; digest: string }>) => {
      const removed: Array<{ repository_id: number; digest: string }> = [];
      for (const [repositoryId, digests] of byRepository(links)) {
        const kept = await restorable.of(db, repositoryId);
        for (const digest of digests) if (!kept.has(digest)) removed.push({ repository_id: repositoryId, digest });
      }
      return removed;
    };
    const linkKey = (link: { repository_id: number; digest: string }) => `${link.repository_id} ${link.digest}`;
    for await (const candidates of this.unneededLinks(cutoff)) report.linksRemoved += (await removable(candidates)).length;
    let afterDigest = '';
    for (;;) {
      await yieldToRequests();
      const candidates = await db
        .selectFrom('blobs')
        .select(['digest', 'size'])
        .where('digest', '>', afterDigest)
        .where(({ eb, or }) => or([eb('deleting', '=', 1), eb('created_at', '<', cutoff)]))
        .orderBy('digest')
        .limit(this.batchSize)
        .execute();
      if (candidates.length === 0) break;
      const links = await db
        .selectFrom('repository_blobs as rb')
        .select((eb) => ['rb.repository_id', 'rb.digest', eb.case().when(isUnneededLink(eb, cutoff)).then(1).else(0).end().as('unneeded')])
        .where('rb.digest', 'in', candidates.map((blob) => blob.digest))
        .execute();
      const removed = new Set((await removable(links.filter((link) => Number(link.unneeded) === 1))).map(linkKey));
      const stillLinked = new Set(links.filter((link) => !removed.has(linkKey(link))).map((link) => link.digest));
      for (const blob of candidates.filter((candidate) => !stillLinked.has(candidate.digest))) {
        report.blobsRemoved++;
        report.bytesReclaimed += Number(blob.size);
      }
      afterDigest = candidates.at(-1)!.digest;
      if (candidates.length < this.batchSize) break;
    }
    report.bytesStored = (await this.bytesStored(db)) - report.bytesReclaimed;
  }

  /** Deletes stored bytes that no blob row records and that are older than the grace period. */
  private async removeOrphans(before: Date, report: CollectionReport, dryRun: boolean): Promise<void> {
    let listed: StoredBlob[] = [];
    const settle = async () => {
      const old = listed.filter((blob) => blob.modifiedAt < before);
      listed = [];
      if (old.length === 0) return;
      const recorded = new Set(
        (await this.engine.db.selectFrom('blobs').select('digest').where('digest', 'in', old.map((blob) => blob.digest)).execute()).map((row) => row.digest),
      );
      for (const orphan of old.filter((blob) => !recorded.has(blob.digest))) {
        if (!dryRun) await this.store.delete(orphan.digest);
        report.orphansRemoved++;
        report.orphanBytesReclaimed += orphan.size;
      }
    };
    for await (const blob of this.store.listBlobs()) {
      listed.push(blob);
      if (listed.length >= this.batchSize) await settle();
    }
    await settle();
  }
}

type Batcher = <T>(work: (trx: Executor) => Promise<T>) => Promise<T>;

/**
 * Lets the requests that arrived meanwhile go first. On SQLite a batch never waits for I/O (a
 * relaxed commit does not even wait for the sync), so without this a collection's batches would
 * run one after another as one long task, and no request would be read until it ended.
 */
function yieldToRequests(): Promise<void> {
  return setImmediate();
}

/** A link older than `cutoff` that no manifest of its repository references. */
function isUnneededLink(eb: ExpressionBuilder<Schema & { rb: Schema['repository_blobs'] }, 'rb'>, cutoff: string): Expression<SqlBool> {
  return eb.and([
    eb('rb.created_at', '<', cutoff),
    eb.not(
      eb.exists(
        eb
          .selectFrom('manifest_references as mr')
          .select(sql`1`.as('one'))
          .whereRef('mr.repository_id', '=', 'rb.repository_id')
          .whereRef('mr.referenced_digest', '=', 'rb.digest'),
      ),
    ),
  ]);
}

function byRepository(links: ReadonlyArray<{ repository_id: number; digest: string }>): Map<number, string[]> {
  const grouped = new Map<number, string[]>();
  for (const link of links) grouped.set(link.repository_id, [...(grouped.get(link.repository_id) ?? []), link.digest]);
  return grouped;
}
