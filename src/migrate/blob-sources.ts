import type { Database } from '../db/schema.js';
import type { Digest } from '../oci/digest.js';
import type { BlobStore, StoredBlob } from '../storage/blob-store.js';

const digestsPerQuery = 500;

/** A blob to copy: which one, and how large. */
export type BlobToCopy = Pick<StoredBlob, 'digest' | 'size'>;

/** The blobs the database records whose bytes are in the store rather than in their row. */
export async function* storedBlobsOfDatabase(db: Database): AsyncIterable<BlobToCopy> {
  let after = '';
  for (;;) {
    const rows = await db
      .selectFrom('blobs')
      .select(['digest', 'size'])
      .where('content', 'is', null)
      .where('digest', '>', after)
      .orderBy('digest')
      .limit(digestsPerQuery)
      .execute();
    // The database holds only digests the registry parsed before recording them.
    for (const row of rows) yield { digest: row.digest as Digest, size: Number(row.size) };
    const last = rows.at(-1);
    if (!last || rows.length < digestsPerQuery) return;
    after = last.digest;
  }
}

/**
 * The blobs of the store that `storedBlobsOfDatabase` does not name: blobs no row records any
 * more (left for garbage collection) or whose bytes are also in their row. Copied too, so the
 * target store holds whatever the source store did.
 */
export async function* otherBlobsOfStore(store: BlobStore, db: Database): AsyncIterable<StoredBlob> {
  let batch: StoredBlob[] = [];
  for await (const blob of store.listBlobs()) {
    batch.push(blob);
    if (batch.length === digestsPerQuery) {
      yield* await notInDatabase(batch, db);
      batch = [];
    }
  }
  yield* await notInDatabase(batch, db);
}

async function notInDatabase(blobs: StoredBlob[], db: Database): Promise<StoredBlob[]> {
  if (blobs.length === 0) return [];
  const recorded = await db
    .selectFrom('blobs')
    .select('digest')
    .where('content', 'is', null)
    .where('digest', 'in', blobs.map((blob) => blob.digest))
    .execute();
  const named = new Set(recorded.map((row) => row.digest));
  return blobs.filter((blob) => !named.has(blob.digest));
}
