import type { Database } from '../db/schema.js';
import type { BlobStore } from '../storage/blob-store.js';
import { otherBlobsOfStore, storedBlobsOfDatabase } from './blob-sources.js';
import { copiedTables } from './copied-tables.js';
import { type BlobPhase, copyBlobs } from './copy-blobs.js';
import { copyTable } from './copy-table.js';
import { resetIdentity } from './reset-identity.js';
import { checkSameInstallation } from './same-installation.js';

export interface MigrationSource {
  db: Database;
  blobs: BlobStore;
}

export interface MigrationTarget {
  db: Database;
  /** Where the blobs go; without one they stay in the source store. */
  blobs: BlobStore | undefined;
}

export interface MigrationSummary {
  /** Blobs that did not hash to their digest, or were missing from the source store. */
  failedBlobs: number;
}

/**
 * Moves an installation's metadata, and its blobs when the target has a store, into the target,
 * printing a line per blob phase and per table. Blobs go first, so that a run cut off leaves no
 * metadata naming a blob the target store lacks; a blob that fails to copy is reported, and the
 * metadata is copied all the same. Only what the target lacks is copied: running it again
 * finishes a run that was cut off and otherwise changes nothing.
 */
export async function migrate(source: MigrationSource, target: MigrationTarget, print: (line: string) => void): Promise<MigrationSummary> {
  await checkSameInstallation(source.db, target.db);
  print('Rows and blobs the target already has are kept as they are, so running this again finishes a migration that was cut off.');
  const blobs: BlobPhase = { copied: 0, alreadyPresent: 0, failed: 0 };
  if (target.blobs) {
    const phases = [
      { name: 'blobs recorded in the database', blobs: storedBlobsOfDatabase(source.db) },
      { name: 'other blobs in the store', blobs: otherBlobsOfStore(source.blobs, source.db) },
    ];
    for (const phase of phases) {
      const copied = await copyBlobs(phase.blobs, source.blobs, target.blobs, (digest, reason) => print(`  failed: ${digest}: ${reason}`));
      print(`${phase.name}: ${copied.copied} copied, ${copied.alreadyPresent} already present, ${copied.failed} failed`);
      blobs.copied += copied.copied;
      blobs.alreadyPresent += copied.alreadyPresent;
      blobs.failed += copied.failed;
    }
    print('uploads in progress: their rows are copied but not their bytes, so clients start them again');
  } else {
    print('blobs: not copied, as no target store was given: they stay in the source store, and only the metadata moves');
  }
  let rowsCopied = 0;
  let rowsAlreadyThere = 0;
  for (const table of copiedTables) {
    const copied = await copyTable(source.db, target.db, table);
    if (table.generatedId) await resetIdentity(target.db, table.name, 'id');
    print(`table ${table.name}: ${copied.copied} copied, ${copied.alreadyThere} already there`);
    rowsCopied += copied.copied;
    rowsAlreadyThere += copied.alreadyThere;
  }
  const blobTotals = target.blobs ? `; blobs: ${blobs.copied} copied, ${blobs.alreadyPresent} already present, ${blobs.failed} failed` : '';
  print(`summary: rows: ${rowsCopied} copied, ${rowsAlreadyThere} already there${blobTotals}`);
  return { failedBlobs: blobs.failed };
}
