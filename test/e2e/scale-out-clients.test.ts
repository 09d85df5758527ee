// Two `berth serve` processes on one PostgreSQL database and one S3 bucket, configured as an
// operator would (flags for the stores, the AWS SDK's environment for credentials): skopeo pushes
// through one node and pulls through the other, following redirects to the bucket, and an upload
// outlives the node it began on.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createContainersEnv, type ContainersEnv } from '../support/containers-env.js';
import { missingTools } from '../support/exec.js';
import { buildImage, findLayoutRef, readLayoutBlob, writeImageLayout } from '../support/oci-layout.js';
import { type PostgresHandle, newDatabase, postgresInstalled, startPostgres } from '../support/postgres-process.js';
import { databaseUrl } from '../support/profile-database.js';
import { type RegistryHandle, startBerth, testDir } from '../support/registry-process.js';
import { requiredTools } from '../support/required-tools.js';
import { type S3Handle, s3rverCredentials, startS3 } from '../support/s3-process.js';
import { Skopeo } from '../support/skopeo.js';

const skip = requiredTools([...(await missingTools(['skopeo'])), ...((await postgresInstalled()) ? [] : ['postgresql'])]);

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

  it('an upload whose node is killed (SIGKILL) midway is finished through the other node', async () => {
    const [first, second] = nodes as [RegistryHandle, RegistryHandle];
    const { username, password } = first.credentials ?? assert.fail('the nodes require sign-in');
    const authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    const bytes = randomBytes(3 * 1024 * 1024);
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    const split = 1024 * 1024;

    const started = await fetch(`${first.url}/v2/e2e/scale/resumed/blobs/uploads/`, { method: 'POST', headers: { authorization } });
    assert.equal(started.status, 202);
    const location = started.headers.get('location') ?? assert.fail('no Location');
    const chunk = (node: RegistryHandle, from: number, to: number) =>
      fetch(new URL(location, node.url), {
        method: 'PATCH',
        headers: { authorization, 'content-type': 'application/octet-stream', 'content-range': `${from}-${to - 1}` },
        body: bytes.subarray(from, to),
      });
    assert.equal((await chunk(first, 0, split)).status, 202);

    process.kill(first.pid() ?? assert.fail('the first node is not running'), 'SIGKILL');
    await first.stop();

    const status = await fetch(new URL(location, second.url), { headers: { authorization } });
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), `0-${split - 1}`);
    assert.equal((await chunk(second, split, bytes.length)).status, 202);
    const finished = new URL(location, second.url);
    finished.searchParams.set('digest', digest);
    const put = await fetch(finished, { method: 'PUT', headers: { authorization } });
    assert.equal(put.status, 201, await put.text());

    // Pulled by redirect from the bucket; the credentials stay with Berth.
    const pulled = await fetch(`${second.url}/v2/e2e/scale/resumed/blobs/${digest}`, { headers: { authorization } });
    assert.equal(pulled.status, 200);
    assert.ok(pulled.redirected, 'sent to the bucket');
    assert.ok(Buffer.from(await pulled.arrayBuffer()).equals(bytes));
  });
});
