import { after, before } from 'node:test';
import { type PostgresHandle, startPostgres } from './postgres-process.js';
import { type S3Handle, startS3 } from './s3-process.js';

export interface ScaleOutStores {
  readonly postgres: PostgresHandle;
  readonly s3: S3Handle;
}

/**
 * For a suite of several nodes: one PostgreSQL server and one S3 server, started before its
 * first test and stopped after its last. Read the fields inside tests, once they are started.
 */
export function scaleOutStores(): ScaleOutStores {
  const started: { postgres?: PostgresHandle; s3?: S3Handle } = {};
  before(async () => {
    [started.postgres, started.s3] = await Promise.all([startPostgres(), startS3()]);
  });
  after(async () => {
    await Promise.all([started.postgres?.close(), started.s3?.close()]);
  });
  return {
    get postgres() {
      return started.postgres ?? assertStarted();
    },
    get s3() {
      return started.s3 ?? assertStarted();
    },
  };
}

function assertStarted(): never {
  throw new Error('the stores are started before the first test of the suite');
}
