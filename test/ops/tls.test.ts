import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, readFile, rm } from 'node:fs/promises';
import http2 from 'node:http2';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import type { TestContext } from 'node:test';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { createBerth } from '../../src/server.js';
import { sha256 } from '../protocol/test-app.js';
import { missingTools } from '../support/exec.js';
import { startBerth, tempDir } from '../support/registry-process.js';
import { type ServerCert, type TestCa, makeCa, makeServerCert } from '../support/tls-certs.js';

const missing = await missingTools(['openssl']);

interface Certificates {
  dir: string;
  ca: TestCa;
  first: ServerCert;
  second: ServerCert;
}

async function certificates(t: TestContext): Promise<Certificates> {
  const dir = await tempDir('tls');
  t.after(() => rm(dir, { recursive: true, force: true }));
  const ca = await makeCa(dir);
  return { dir, ca, first: await makeServerCert(dir, ca, 'first'), second: await makeServerCert(dir, ca, 'second') };
}

interface Answer {
  status: number;
  body: Buffer;
  /** The common name of the certificate the connection was made with. */
  servedBy: string;
  reusedSocket: boolean;
}

function get(url: string, ca: Buffer, agent: https.Agent | false = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, agent }, (res) => {
      // Read now: a keep-alive socket goes back to its agent when the response ends.
      const servedBy = String((res.socket as TLSSocket).getPeerCertificate().subject?.CN);
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks),
          servedBy,
          reusedSocket: request.reusedSocket,
        }),
      );
    });
    request.on('error', reject);
  });
}

/** One HTTP/2 request; answers the status and body. */
function h2request(session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let answer: http2.IncomingHttpHeaders = {};
    stream.on('response', (received) => {
      answer = received;
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve({ status: Number(answer[':status']), headers: answer, body: Buffer.concat(chunks) }));
    if (body !== undefined) stream.end(body);
  });
}

describe('TLS', { skip: missing.length > 0 ? 'openssl not installed' : false }, () => {
  it('tlsCert and tlsKey go together, and with them the public URL defaults to https', () => {
    assert.throws(() => loadConfig({ tlsCert: 'server.crt' }, {}), /tlsCert and tlsKey go together/);
    const config = loadConfig({ host: '127.0.0.1', port: '5443' }, { BERTH_TLS_CERT: 'server.crt', BERTH_TLS_KEY: 'server.key' });
    assert.equal(config.publicUrl, 'https://127.0.0.1:5443');
    assert.equal(config.tlsCert, path.resolve('server.crt'));
    assert.equal(config.http2, false);
    assert.equal(loadConfig({}, {}).publicUrl, 'http://localhost:5000');
  });

  it('GET /v2/ over HTTPS answers 200 to a client that trusts the CA; HTTP/2 is offered only when asked', async (t) => {
    const certs = await certificates(t);
    const ca = await readFile(certs.ca.cert);
    for (const http2On of [false, true]) {
      const dataDir = await tempDir('tls-data');
      t.after(() => rm(dataDir, { recursive: true, force: true }));
      const config = loadConfig({ dataDir, tlsCert: certs.first.cert, tlsKey: certs.first.key, http2: http2On ? 'on' : 'off' }, {});
      const berth = await createBerth(config, { logger: false, auth: false });
      t.after(() => berth.close());
      await berth.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = berth.app.server.address() as AddressInfo;
      const answer = await get(`https://127.0.0.1:${port}/v2/`, ca);
      assert.equal(answer.status, 200);
      assert.equal(answer.servedBy, 'first');
      await assert.rejects(get(`https://127.0.0.1:${port}/v2/`, await readFile(path.join(certs.dir, 'first.crt'))), /self.signed|unable to (get|verify)/i);

      const session = http2.connect(`https://127.0.0.1:${port}`, { ca });
      const negotiated = await new Promise<string | false>((resolve) => {
        session.once('connect', () => resolve(session.alpnProtocol ?? false));
        session.once('error', () => resolve(false));
      });
      session.destroy();
      assert.equal(negotiated === 'h2', http2On, `ALPN chose ${negotiated}`);
    }
  });

  it('over HTTP/2 a blob pushed in a streamed PUT without Content-Length comes back whole, and a manifest naming it is stored', async (t) => {
    const certs = await certificates(t);
    const dataDir = await tempDir('tls-data');
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const berth = await createBerth(loadConfig({ dataDir, tlsCert: certs.first.cert, tlsKey: certs.first.key, http2: 'on' }, {}), { logger: false, auth: false });
    t.after(() => berth.close());
    await berth.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = berth.app.server.address() as AddressInfo;
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: await readFile(certs.ca.cert) });
    t.after(() => session.close());
    // Larger than a file sender's buffer, so the pull reuses its buffers many times over.
    const blob = randomBytes(3 * 1024 * 1024 + 123);
    const started = await h2request(session, { ':method': 'POST', ':path': '/v2/alice/app/blobs/uploads/' });
    assert.equal(started.status, 202);
    const put = await h2request(session, { ':method': 'PUT', ':path': `${started.headers.location}${String(started.headers.location).includes('?') ? '&' : '?'}digest=${sha256(blob)}`, 'content-type': 'application/octet-stream' }, blob);
    assert.equal(put.status, 201, put.body.toString());
    const pulled = await h2request(session, { ':method': 'GET', ':path': `/v2/alice/app/blobs/${sha256(blob)}` });
    assert.equal(pulled.status, 200);
    assert.ok(pulled.body.equals(blob), 'the pulled blob is the pushed one');
    const range = await h2request(session, { ':method': 'GET', ':path': `/v2/alice/app/blobs/${sha256(blob)}`, range: 'bytes=1000-2000000' });
    assert.equal(range.status, 206);
    assert.ok(range.body.equals(blob.subarray(1000, 2000001)));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(Buffer.from('{}')), size: 2, data: 'e30=' },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(blob), size: blob.length }],
      }),
    );
    const config = await h2request(session, { ':method': 'POST', ':path': `/v2/alice/app/blobs/uploads/?digest=${sha256(Buffer.from('{}'))}`, 'content-type': 'application/octet-stream' }, Buffer.from('{}'));
    assert.equal(config.status, 201, config.body.toString());
    const pushed = await h2request(session, { ':method': 'PUT', ':path': '/v2/alice/app/manifests/v1', 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, manifest);
    assert.equal(pushed.status, 201, pushed.body.toString());
    const read = await h2request(session, { ':method': 'GET', ':path': '/v2/alice/app/manifests/v1', accept: 'application/vnd.oci.image.manifest.v1+json' });
    assert.equal(read.status, 200);
    assert.ok(read.body.equals(manifest), 'the manifest read is the one pushed');
  });

  it('SIGHUP serves a replaced certificate to new connections while an open keep-alive connection goes on', async (t) => {
    const certs = await certificates(t);
    const served = { cert: path.join(certs.dir, 'served.crt'), key: path.join(certs.dir, 'served.key') };
    await copyFile(certs.first.cert, served.cert);
    await copyFile(certs.first.key, served.key);
    const registry = await startBerth({ anonymous: true, tls: { ...served, ca: certs.ca.cert } });
    t.after(() => registry.close());
    const ca = await readFile(certs.ca.cert);
    const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 1 });
    t.after(() => keepAlive.destroy());

    const before = await get(`${registry.url}/v2/`, ca, keepAlive);
    assert.deepEqual([before.status, before.servedBy], [200, 'first']);
    await copyFile(certs.second.cert, served.cert);
    await copyFile(certs.second.key, served.key);
    process.kill(registry.pid() as number, 'SIGHUP');
    for (let i = 0; !registry.logs().includes('TLS certificate reloaded'); i += 1) {
      assert.ok(i < 200, `no reload logged:\n${registry.logs()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    const fresh = await get(`${registry.url}/v2/`, ca);
    assert.deepEqual([fresh.status, fresh.servedBy], [200, 'second']);
    const again = await get(`${registry.url}/v2/`, ca, keepAlive);
    assert.deepEqual([again.status, again.servedBy, again.reusedSocket], [200, 'first', true]);
    assert.ok(registry.pid() !== undefined, 'the server still runs');
  });
});
