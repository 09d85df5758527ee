import { type Transaction, sql } from 'kysely';
import type { DataVersion, DatabaseEngine } from '../db/engine.js';
import { isSet } from '../db/flags.js';
import { GroupCommit } from '../db/group-commit.js';
import { preparedColumn, preparedQuery, preparedStatement } from '../db/prepared-query.js';
import type { SchemaDialect } from '../db/dialect.js';
import type { Database, Schema } from '../db/schema.js';
import type { Digest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import type { ParsedManifest } from '../oci/manifest.js';
import type { RepositoryName } from '../oci/names.js';
import { ManifestCache } from './manifest-cache.js';

export interface StoredManifest {
  digest: Digest;
  mediaType: string;
  size: number;
  content: Buffer;
}

export interface NewManifest {
  digest: Digest;
  mediaType: string;
  artifactType: string | undefined;
  subject: Digest | undefined;
  content: Buffer;
  annotations: Record<string, string>;
  blobs: Digest[];
  manifests: Digest[];
}

/** What the metadata stores of a parsed manifest: its identity, bytes and references. */
export function newManifest(digest: Digest, content: Buffer, parsed: ParsedManifest): NewManifest {
  return {
    digest,
    mediaType: parsed.mediaType,
    artifactType: parsed.artifactType,
    subject: parsed.subject?.digest,
    content,
    annotations: parsed.annotations,
    blobs: parsed.blobs.map((blob) => blob.digest),
    manifests: parsed.manifests.map((child) => child.digest),
  };
}

/**
 * The blob is being removed by garbage collection and cannot be linked again until it is gone:
 * its bytes may already be deleted.
 */
export class BlobCollectedError extends Error {
  constructor(readonly digest: Digest) {
    super(`garbage collection is removing ${digest}`);
    this.name = 'BlobCollectedError';
  }
}

export interface LinkedBlob {
  /** The upload session the blob came from, which ends with the link. */
  completedUpload?: string;
  /** The bytes of a small blob, kept with its row instead of in the blob store. */
  content?: Buffer;
}

export interface Referrer {
  digest: Digest;
  mediaType: string;
  size: number;
  artifactType: string | null;
  annotations: Record<string, string> | undefined;
}

export interface Upload {
  id: string;
  repository: RepositoryName;
  /** The bytes received so far, while they are kept here; undefined once they are in the blob store. */
  held: Buffer | undefined;
}

/**
 * The registry's metadata: repositories, which blobs each may see, manifests, tags and upload
 * sessions. Every write is an idempotent upsert, so concurrent pushes of the same blob, manifest
 * or tag both succeed.
 */
export class RegistryMetadata {
  private readonly writes: GroupCommit;
  /**
   * Ids of repositories known to exist. A repository is deleted only with its whole namespace (an
   * account deleted) or with a purged package: this object forgets the ids it deletes itself, and
   * all of them when another process (the CLI) may have committed.
   */
  private readonly repositoryIds = new Map<RepositoryName, number>();
  private idsVersion: number;
  private readonly dataVersion: DataVersion;

  /** The reads on every pull and listing and the writes of every push, compiled once. */
  private readonly reads: ReturnType<typeof pullQueries>;
  private readonly pushes: ReturnType<typeof pushStatements>;
  private readonly manifests: ManifestCache;

  private readonly db: Database;

  constructor(engine: DatabaseEngine) {
    this.db = engine.db;
    this.writes = new GroupCommit(engine);
    this.reads = pullQueries(engine);
    this.pushes = pushStatements(engine);
    this.dataVersion = engine.dataVersion;
    this.idsVersion = this.dataVersion.external();
    this.manifests = new ManifestCache(this.dataVersion);
  }

  async repositoryExists(name: RepositoryName): Promise<boolean> {
    return (await this.repositoryId(name)) !== undefined;
  }

  /**
   * Records a blob as visible in the repository: one committed to the blob store, or a small one
   * whose `content` is kept here, durable with the row. A blob that came from an upload session
   * ends that session in the same transaction.
   */
  async linkBlob(name: RepositoryName, digest: Digest, size: number, { completedUpload, content }: LinkedBlob = {}): Promise<void> {
    await this.writeInRepository(name, async (trx, repositoryId, now) => {
      // A blob stored before keeps its bytes where they are; these are the same bytes.
      await this.pushes.insertBlob(trx, digest, size, now, content ?? null);
      // Locked, so that garbage collection cannot mark it between this check and the link.
      const [blob] = (await this.pushes.lockBlob(trx, digest)).rows;
      if (blob && isSet(blob.deleting)) throw new BlobCollectedError(digest);
      await this.pushes.linkBlob(trx, repositoryId, digest, now);
      if (completedUpload !== undefined) await this.pushes.deleteUpload(trx, completedUpload);
    });
  }

  /** The bytes of a small blob kept in the metadata, or undefined when they are in the blob store. */
  async inlineContent(digest: Digest): Promise<Buffer | undefined> {
    const [row] = await this.reads.inlineContent(digest);
    return asBuffer(row?.content);
  }

  /** A blob visible in the repository: its size and, for a small one, its bytes. */
  async blob(name: RepositoryName, digest: Digest): Promise<{ size: number; content: Buffer | undefined } | undefined> {
    const [row] = await this.reads.blob(name, digest);
    return row && { size: Number(row.size), content: asBuffer(row.content) };
  }

  async unlinkBlob(name: RepositoryName, digest: Digest): Promise<boolean> {
    const repositoryId = await this.repositoryId(name);
    if (repositoryId === undefined) return false;
    const result = await this.write((trx) => trx
      .deleteFrom('repository_blobs')
      .where('repository_id', '=', repositoryId)
      .where('digest', '=', digest)
      .executeTakeFirst());
    return Number(result.numDeletedRows) > 0;
  }

  /**
   * Of the given digests, those that are not manifests in the repository. (A manifest's blobs are
   * checked where it is stored, in its transaction: see `requireLinkedBlobs`.)
   */
  async missingManifests(name: RepositoryName, digests: Digest[]): Promise<Digest[]> {
    if (digests.length === 0) return [];
    const repositoryId = await this.repositoryId(name);
    if (repositoryId === undefined) return [...digests];
    const found = new Set(await this.reads.manifestsAmong(repositoryId, JSON.stringify(digests)));
    return digests.filter((digest) => !found.has(digest));
  }

  /**
   * Stores a manifest (and tag); `alongside` runs in the same transaction, after the manifest,
   * and `before` before it.
   */
  async putManifest(
    name: RepositoryName,
    manifest: NewManifest,
    tag: string | undefined,
    alongside?: (trx: Transaction<Schema>) => Promise<void>,
    before?: (trx: Transaction<Schema>) => Promise<void>,
  ): Promise<void> {
    await this.putManifests(name, [{ manifest, tags: tag === undefined ? [] : [tag] }], alongside, before);
  }

  /**
   * Stores manifests, each with its tags, in one transaction, in the order given (an index after
   * the manifests it lists); `alongside` runs in the same transaction, after them, `before` before.
   */
  async putManifests(
    name: RepositoryName,
    entries: ReadonlyArray<{ manifest: NewManifest; tags: readonly string[] }>,
    alongside?: (trx: Transaction<Schema>) => Promise<void>,
    before?: (trx: Transaction<Schema>) => Promise<void>,
  ): Promise<void> {
    await this.writeInRepository(name, async (trx, repositoryId, now) => {
      if (before) await before(trx);
      for (const { manifest, tags } of entries) {
        await this.insertManifest(trx, repositoryId, manifest, now);
        for (const tag of tags) await this.pushes.upsertTag(trx, repositoryId, tag, manifest.digest, now);
      }
      if (alongside) await alongside(trx);
    });
  }

  private async insertManifest(trx: Transaction<Schema>, repositoryId: number, manifest: NewManifest, now: string): Promise<void> {
    await this.requireLinkedBlobs(trx, repositoryId, manifest.blobs);
    const annotations = Object.keys(manifest.annotations).length > 0 ? JSON.stringify(manifest.annotations) : null;
    const inserted = await this.pushes.insertManifest(
      trx,
      repositoryId,
      manifest.digest,
      manifest.mediaType,
      manifest.artifactType ?? null,
      manifest.subject ?? null,
      manifest.content.length,
      manifest.content,
      annotations,
      now,
    );
    if (Number(inserted.numAffectedRows ?? 0n) > 0) {
      for (const [kind, digests] of [
        ['blob', manifest.blobs],
        ['manifest', manifest.manifests],
      ] as const) {
        if (digests.length > 0) await this.pushes.insertReferences(trx, repositoryId, manifest.digest, JSON.stringify(digests), kind);
      }
    }
  }

  /**
   * A manifest's blobs must be linked in the repository when it is stored (or tagged again), and
   * this is where that is checked, in the transaction that stores it: a check before it could be
   * undone by garbage collection removing a link meanwhile. The links are locked until the
   * manifest's references are committed, which then keep them.
   */
  private async requireLinkedBlobs(trx: Transaction<Schema>, repositoryId: number, blobs: readonly Digest[]): Promise<void> {
    if (blobs.length === 0) return;
    const wanted = [...new Set(blobs)];
    const linked = new Set((await this.pushes.lockLinks(trx, repositoryId, JSON.stringify(wanted))).rows.map((row) => row.digest));
    const missing = wanted.filter((digest) => !linked.has(digest));
    if (missing.length > 0) {
      throw new RegistryError('MANIFEST_BLOB_UNKNOWN', `manifest references ${missing.length} unknown blob(s)`, { detail: { digests: missing } });
    }
  }

  async manifestByDigest(name: RepositoryName, digest: Digest): Promise<StoredManifest | undefined> {
    return this.manifests.read(`digest\u0000${name}\u0000${digest}`, async () => {
      const [row] = await this.reads.manifestByDigest(name, digest);
      return row && toStoredManifest(row);
    });
  }

  async manifestByTag(name: RepositoryName, tag: string): Promise<StoredManifest | undefined> {
    return this.manifests.read(`tag\u0000${name}\u0000${tag}`, async () => {
      const [row] = await this.reads.manifestByTag(name, tag);
      return row && toStoredManifest(row);
    });
  }

  /** Deletes a manifest and, by cascade, every tag on it and its references. */
  async deleteManifest(name: RepositoryName, digest: Digest, alongside?: (trx: Transaction<Schema>) => Promise<void>): Promise<boolean> {
    return (await this.deleteManifests(name, [digest], alongside)) > 0;
  }

  /**
   * Deletes manifests in the order given (an index before the manifests it lists), in one
   * transaction with `alongside`; answers how many there were. `alongside` runs even when none was;
   * `before` runs first, and may refuse by throwing.
   */
  async deleteManifests(
    name: RepositoryName,
    digests: readonly Digest[],
    alongside?: (trx: Transaction<Schema>) => Promise<void>,
    before?: (trx: Transaction<Schema>) => Promise<void>,
  ): Promise<number> {
    const repositoryId = await this.repositoryId(name);
    if (repositoryId === undefined && !alongside) return 0;
    return this.write(async (trx) => {
      if (before) await before(trx);
      let deleted = 0;
      if (repositoryId !== undefined) {
        for (const digest of digests) {
          const result = await trx.deleteFrom('manifests').where('repository_id', '=', repositoryId).where('digest', '=', digest).executeTakeFirst();
          deleted += Number(result.numDeletedRows);
        }
      }
      if (alongside) await alongside(trx);
      return deleted;
    });
  }

  async deleteTag(name: RepositoryName, tag: string): Promise<boolean> {
    const repositoryId = await this.repositoryId(name);
    if (repositoryId === undefined) return false;
    const result = await this.write((trx) =>
      trx.deleteFrom('tags').where('repository_id', '=', repositoryId).where('name', '=', tag).executeTakeFirst(),
    );
    return Number(result.numDeletedRows) > 0;
  }

  /** Tags in lexical (byte) order after `last`; undefined when the repository does not exist. */
  async listTags(name: RepositoryName, limit: number, last: string | undefined): Promise<string[] | undefined> {
    const repositoryId = await this.repositoryId(name);
    if (repositoryId === undefined) return undefined;
    return last === undefined ? this.reads.firstTags(repositoryId, limit) : this.reads.tagsAfter(repositoryId, last, limit);
  }

  async listRepositories(limit: number, last: string | undefined): Promise<RepositoryName[]> {
    let query = this.db.selectFrom('repositories').select('name');
    if (last !== undefined) query = query.where('name', '>', last);
    const rows = await query.orderBy('name').limit(limit).execute();
    return rows.map((row) => row.name as RepositoryName);
  }

  async referrers(name: RepositoryName, subject: Digest, artifactType: string | undefined): Promise<Referrer[]> {
    let query = this.db
      .selectFrom('manifests')
      .innerJoin('repositories', 'repositories.id', 'manifests.repository_id')
      .select(['manifests.digest', 'manifests.media_type', 'manifests.size', 'manifests.artifact_type', 'manifests.annotations'])
      .where('repositories.name', '=', name)
      .where('manifests.subject_digest', '=', subject);
    if (artifactType !== undefined) query = query.where('manifests.artifact_type', '=', artifactType);
    const rows = await query.orderBy('manifests.created_at').orderBy('manifests.digest').execute();
    return rows.map((row) => ({
      digest: row.digest as Digest,
      mediaType: row.media_type,
      size: Number(row.size),
      artifactType: row.artifact_type,
      annotations: row.annotations ? (JSON.parse(row.annotations) as Record<string, string>) : undefined,
    }));
  }

  /** A new upload session, its (no) bytes held here until they outgrow a blob kept in the metadata. */
  async createUpload(id: string, name: RepositoryName): Promise<void> {
    const now = timestamp();
    await this.writeUploadProgress((trx) => this.pushes.insertUpload(trx, id, name, now, emptyBytes));
  }

  async upload(id: string): Promise<Upload | undefined> {
    const [row] = await this.reads.upload(id);
    return row && { id: row.id, repository: row.repository as RepositoryName, held: asBuffer(row.held) };
  }

  /** Keeps the bytes an upload has received; they are all of them, not just the newest. */
  async holdUploadBytes(id: string, bytes: Buffer): Promise<void> {
    await this.writeUploadProgress((trx) => this.pushes.holdUploadBytes(trx, id, bytes, timestamp()));
  }

  /**
   * The upload's bytes are in the blob store now. Progress too: were it lost, the session would
   * still hold its bytes here, the client would resume from their end, and the next chunk would
   * move them again, replacing the store's file.
   */
  async releaseUploadBytes(id: string): Promise<void> {
    await this.writeUploadProgress((trx) => trx.updateTable('uploads').set({ held: null, updated_at: timestamp() }).where('id', '=', id).execute());
  }

  async touchUpload(id: string): Promise<void> {
    await this.writeUploadProgress((trx) => trx.updateTable('uploads').set({ updated_at: timestamp() }).where('id', '=', id).execute());
  }

  async deleteUpload(id: string): Promise<boolean> {
    const result = await this.write((trx) => trx.deleteFrom('uploads').where('id', '=', id).executeTakeFirst());
    return Number(result.numDeletedRows) > 0;
  }

  async uploadIdsUpdatedBefore(cutoff: Date): Promise<string[]> {
    const rows = await this.db.selectFrom('uploads').select('id').where('updated_at', '<', cutoff.toISOString()).execute();
    return rows.map((row) => row.id);
  }

  async uploadIds(): Promise<Set<string>> {
    const rows = await this.db.selectFrom('uploads').select('id').execute();
    return new Set(rows.map((row) => row.id));
  }

  /**
   * Deletes, inside the caller's transaction, every repository of a namespace (`namespace/...`)
   * with its manifests, tags and blob links (by cascade), and its upload sessions; call
   * `forgetRepositories` once the transaction committed. A name reused later starts empty.
   */
  async deleteNamespace(trx: Transaction<Schema>, namespace: string): Promise<void> {
    // The names under `ns/` are those from `ns/` up to `ns0` ('0' follows '/'): an index range.
    const [from, to] = [`${namespace}/`, `${namespace}0`];
    await trx.deleteFrom('uploads').where('repository', '>=', from).where('repository', '<', to).execute();
    await trx.deleteFrom('repositories').where('name', '>=', from).where('name', '<', to).execute();
  }

  /** The same for single repositories (purged packages), inside the caller's transaction. */
  async deleteRepositories(trx: Transaction<Schema>, names: readonly string[]): Promise<void> {
    if (names.length === 0) return;
    await trx.deleteFrom('uploads').where('repository', 'in', names).execute();
    await trx.deleteFrom('repositories').where('name', 'in', names).execute();
  }

  /** Forgets the ids of deleted repositories, those whose names match. */
  forgetRepositories(deleted: (name: string) => boolean): void {
    for (const name of this.repositoryIds.keys()) if (deleted(name)) this.repositoryIds.delete(name);
  }

  /** The remembered ids, emptied when another process may have deleted repositories. */
  private knownIds(): Map<RepositoryName, number> {
    const external = this.dataVersion.external();
    if (external !== this.idsVersion) {
      this.repositoryIds.clear();
      this.idsVersion = external;
    }
    return this.repositoryIds;
  }

  private async repositoryId(name: RepositoryName): Promise<number | undefined> {
    const cached = this.knownIds().get(name);
    if (cached !== undefined) return cached;
    const row = await this.db.selectFrom('repositories').select('id').where('name', '=', name).executeTakeFirst();
    if (row) this.repositoryIds.set(name, row.id);
    return row?.id;
  }

  /** Runs a write in the next group commit, where it shares one durable commit with others. */
  private write<T>(work: (trx: Transaction<Schema>) => Promise<T>): Promise<T> {
    return this.writes.run(work);
  }

  /**
   * Runs a write of an upload session's progress, which the commit need not wait to make durable:
   * a crash may lose it (the client then finds the session gone, and starts again, as after any
   * expiry), and whatever the session finally stores is committed durably, with it.
   */
  private writeUploadProgress(work: (trx: Transaction<Schema>) => Promise<unknown>): Promise<unknown> {
    return this.writes.run(work, { durable: false });
  }

  /** Runs a write that needs the repository, creating it if it is new. */
  private async writeInRepository<T>(
    name: RepositoryName,
    work: (trx: Transaction<Schema>, repositoryId: number, now: string) => Promise<T>,
  ): Promise<T> {
    let repositoryId: number | undefined;
    const result = await this.writes.run(async (trx) => {
      const now = timestamp();
      repositoryId = this.knownIds().get(name) ?? (await ensureRepository(trx, name, now));
      return work(trx, repositoryId, now);
    });
    // Cached only once committed: a write rolled back may have created a row that is gone again.
    if (repositoryId !== undefined) this.repositoryIds.set(name, repositoryId);
    return result;
  }
}

/** `column in (...)` the elements of a JSON array, so that one prepared statement takes any number. */
function inJsonArray(dialect: SchemaDialect, column: string, array: never) {
  return sql<boolean>`${sql.ref(column)} in (select value from ${dialect.jsonArrayElements(array)} as elements)`;
}

function pullQueries({ db, dialect }: DatabaseEngine) {
  return {
    upload: preparedQuery<{ id: string; repository: string; held: Uint8Array | null }, [string]>(db, (id) =>
      db.selectFrom('uploads').select(['id', 'repository', 'held']).where('id', '=', id),
    ),
    manifestsAmong: preparedColumn<string, [number, string]>(db, (repositoryId, digests) =>
      db.selectFrom('manifests').select('digest').where('repository_id', '=', repositoryId).where(inJsonArray(dialect, 'digest', digests)),
    ),
    blob: preparedQuery<{ size: number; content: Uint8Array | null }, [RepositoryName, Digest]>(db, (name, digest) =>
      db
        .selectFrom('repository_blobs')
        .innerJoin('repositories', 'repositories.id', 'repository_blobs.repository_id')
        .innerJoin('blobs', 'blobs.digest', 'repository_blobs.digest')
        .select(['blobs.size', 'blobs.content'])
        .where('repositories.name', '=', name)
        .where('repository_blobs.digest', '=', digest),
    ),
    firstTags: preparedColumn<string, [number, number]>(db, (repositoryId, limit) =>
      db.selectFrom('tags').select('name').where('repository_id', '=', repositoryId).orderBy('name').limit(limit),
    ),
    tagsAfter: preparedColumn<string, [number, string, number]>(db, (repositoryId, last, limit) =>
      db.selectFrom('tags').select('name').where('repository_id', '=', repositoryId).where('name', '>', last).orderBy('name').limit(limit),
    ),
    inlineContent: preparedQuery<{ content: Uint8Array | null }, [Digest]>(db, (digest) =>
      db.selectFrom('blobs').select('content').where('digest', '=', digest),
    ),
    manifestByDigest: preparedQuery<ManifestRow, [RepositoryName, Digest]>(db, (name, digest) =>
      db
        .selectFrom('manifests')
        .innerJoin('repositories', 'repositories.id', 'manifests.repository_id')
        .select(['manifests.digest', 'manifests.media_type', 'manifests.size', 'manifests.content'])
        .where('repositories.name', '=', name)
        .where('manifests.digest', '=', digest),
    ),
    manifestByTag: preparedQuery<ManifestRow, [RepositoryName, string]>(db, (name, tag) =>
      db
        .selectFrom('tags')
        .innerJoin('repositories', 'repositories.id', 'tags.repository_id')
        .innerJoin('manifests', (join) =>
          join.onRef('manifests.repository_id', '=', 'tags.repository_id').onRef('manifests.digest', '=', 'tags.digest'),
        )
        .select(['manifests.digest', 'manifests.media_type', 'manifests.size', 'manifests.content'])
        .where('repositories.name', '=', name)
        .where('tags.name', '=', tag),
    ),
  };
}

function pushStatements({ db, dialect }: DatabaseEngine) {
  return {
    insertBlob: preparedStatement<never, [Digest, number, string, Buffer | null]>((digest, size, now, content) =>
      db
        .insertInto('blobs')
        .values({ digest, size, created_at: now, content })
        .onConflict((c) => c.column('digest').doNothing()),
    ),
    lockBlob: preparedStatement<{ deleting: number }, [Digest]>((digest) =>
      dialect.lockRows(db.selectFrom('blobs').select('deleting').where('digest', '=', digest), 'share'),
    ),
    // An existing link is left as it is, unlocked: updating it would lock it against the
    // manifests being stored with it, and group commits on two nodes could then deadlock.
    linkBlob: preparedStatement<never, [number, Digest, string]>((repositoryId, digest, now) =>
      db
        .insertInto('repository_blobs')
        .values({ repository_id: repositoryId, digest, created_at: now })
        .onConflict((c) => c.columns(['repository_id', 'digest']).doNothing()),
    ),
    lockLinks: preparedStatement<{ digest: string }, [number, string]>((repositoryId, digests) =>
      dialect.lockRows(db.selectFrom('repository_blobs').select('digest').where('repository_id', '=', repositoryId).where(inJsonArray(dialect, 'digest', digests)), 'share'),
    ),
    insertUpload: preparedStatement<never, [string, string, string, Buffer]>((id, name, now, held) =>
      db.insertInto('uploads').values({ id, repository: name, created_at: now, updated_at: now, held }),
    ),
    holdUploadBytes: preparedStatement<never, [string, Buffer, string]>((id, held, now) => db.updateTable('uploads').set({ held, updated_at: now }).where('id', '=', id)),
    deleteUpload: preparedStatement<never, [string]>((id) => db.deleteFrom('uploads').where('id', '=', id)),
    insertManifest: preparedStatement<never, [number, Digest, string, string | null, Digest | null, number, Buffer, string | null, string]>(
      (repositoryId, digest, mediaType, artifactType, subject, size, content, annotations, now) =>
        db
          .insertInto('manifests')
          .values({
            repository_id: repositoryId,
            digest,
            media_type: mediaType,
            artifact_type: artifactType,
            subject_digest: subject,
            size,
            content,
            annotations,
            created_at: now,
          })
          .onConflict((c) => c.columns(['repository_id', 'digest']).doNothing()),
    ),
    // One statement for all of a manifest's references (an image has a dozen layers or more).
    // SQLite needs the WHERE to tell the upsert's ON CONFLICT from a join's ON.
    insertReferences: preparedStatement<never, [number, Digest, string, 'blob' | 'manifest']>((repositoryId, manifestDigest, digests, kind) =>
      db
        .insertInto('manifest_references')
        .columns(['repository_id', 'manifest_digest', 'referenced_digest', 'kind'])
        .expression(
          db
            .selectFrom(dialect.jsonArrayElements(digests).as('digests'))
            .select([
              sql<number>`${repositoryId}`.as('repository_id'),
              sql<string>`${manifestDigest}`.as('manifest_digest'),
              'value',
              sql<string>`${kind}`.as('kind'),
            ])
            .where(sql<boolean>`true`),
        )
        .onConflict((c) => c.columns(['repository_id', 'manifest_digest', 'referenced_digest']).doNothing()),
    ),
    upsertTag: preparedStatement<never, [number, string, Digest, string]>((repositoryId, tag, digest, now) =>
      db
        .insertInto('tags')
        .values({ repository_id: repositoryId, name: tag, digest, updated_at: now })
        .onConflict((c) => c.columns(['repository_id', 'name']).doUpdateSet({ digest, updated_at: now })),
    ),
  };
}

type ManifestRow = { digest: string; media_type: string; size: number; content: Uint8Array };

async function ensureRepository(trx: Transaction<Schema>, name: RepositoryName, now: string): Promise<number> {
  await trx
    .insertInto('repositories')
    .values({ name, created_at: now })
    .onConflict((c) => c.column('name').doNothing())
    .execute();
  const row = await trx.selectFrom('repositories').select('id').where('name', '=', name).executeTakeFirstOrThrow();
  return row.id;
}

function toStoredManifest(row: ManifestRow): StoredManifest {
  const content = Buffer.isBuffer(row.content) ? row.content : Buffer.from(row.content);
  return { digest: row.digest as Digest, mediaType: row.media_type, size: Number(row.size), content };
}

function asBuffer(bytes: Uint8Array | null | undefined): Buffer | undefined {
  if (!bytes) return undefined;
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
}

const emptyBytes = Buffer.alloc(0);

function timestamp(): string {
  return new Date().toISOString();
}
