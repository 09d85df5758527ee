// Two `berth serve` processes on one PostgreSQL database and one S3 bucket, configured as an
// operator would (flags for the stores, the AWS SDK's environment for credentials): skopeo pushes
// through one node and pulls through the other, following redirects to the bucket.
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { after, before, describe, it, type TestContext } from 'node:test';
import { createContainersEnv, type ContainersEnv } from '../support/containers-env.js';
import { missingTools } from '../support/exec.js';
import { buildImage, findLayoutRef, readLayoutBlob, writeImageLayout } from '../support/oci-layout.js';
import { type PostgresHandle, newDatabase, postgresInstalled, startPostgres } from '../support/postgres-process.js';
import { databaseUrl } from '../support/profile-database.js';
import { type RegistryHandle, startBerth, tempDir } from '../support/registry-process.js';
import { requiredTools } from '../support/required-tools.js';
import { type S3Handle, s3rverCredentials, startS3 } from '../support/s3-process.js';
import { Skopeo } from '../support/skopeo.js';

const skip = requiredTools([...(await missingTools(['skopeo'])), ...((await postgresInstalled()) ? [] : ['postgresql'])]);

async function testDir(t: TestContext, name: string): Promise<string> {
  const dir = await tempDir(name);
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe('two Berth nodes on PostgreSQL and S3, with skopeo', { skip, timeout: 600_000 }, () => {
  let postgres: PostgresHandle;
  let s3: S3Handle;
  let nodes: RegistryHandle[] = [];
  let containers: ContainersEnv;

  before(async () => {
    [postgres, s3] = await Promise.all([startPostgres(), startS3()]);
    const env = {
      BERTH_DATABASE_URL: databaseUrl(await newDatabase(postgres)),
      BERTH_STORAGE: `s3://${s3.bucket}/registry`,
      BERTH_S3_ENDPOINT: s3.endpoint,
      BERTH_S3_PATH_STYLE: 'on',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: s3rverCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3rverCredentials.secretAccessKey,
    };
    const first = await startBerth({ env });
    nodes = [first, await startBerth({ env, credentials: first.credentials })];
    containers = await createContainersEnv(nodes.map((node) => node.host));
  });

  after(async () => {
    for (const node of nodes) await node.close();
    await containers?.cleanup();
    await Promise.all([postgres?.close(), s3?.close()]);
  });

  it('pushes an image through one node and pulls it byte for byte through the other', async (t) => {
    const [first, second] = nodes as [RegistryHandle, RegistryHandle];
    const image = buildImage({
      layers: [{ 'usr/share/berth/data.bin': Buffer.alloc(512 * 1024, 3) }, { 'etc/os-release': 'ID=berth-scale-out\n' }],
      labels: { 'org.opencontainers.image.source': 'https://example.com/acme/app' },
    });
    const src = await testDir(t, 'scale-src');
    await writeImageLayout(src, image, 'v1');
    await new Skopeo(containers, first).copy(`oci:${src}:v1`, `docker://${first.host}/e2e/scale/app:v1`, ['--preserve-digests']);

    const out = await testDir(t, 'scale-out');
    await new Skopeo(containers, second).copy(`docker://${second.host}/e2e/scale/app:v1`, `oci:${out}:v1`, ['--preserve-digests']);
    assert.equal((await findLayoutRef(out, 'v1')).digest, image.manifest.descriptor.digest);
    for (const blob of image.blobs) {
      assert.deepEqual(await readLayoutBlob(out, blob.descriptor.digest), blob.bytes, `blob ${blob.descriptor.digest}`);
    }
    assert.match(second.logs(), /"database":"postgresql","storage":"s3"/);
    assert.doesNotMatch(first.logs() + second.logs(), /postgresql:\/\//, 'the database URL is not logged');
  });
});
