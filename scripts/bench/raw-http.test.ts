import assert from 'node:assert/strict';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../../test/support/eventually.js';
import { RawHttpClient, parseResponse } from './raw-http.js';

describe('parseResponse', () => {
  it('waits for the whole body that Content-Length announces', () => {
    const whole = Buffer.from('HTTP/1.1 201 Created\r\nLocation: /v2/a\r\nContent-Length: 5\r\n\r\nhello');
    assert.equal(parseResponse(whole.subarray(0, 20)), undefined);
    assert.equal(parseResponse(whole.subarray(0, whole.length - 1)), undefined);
    const parsed = parseResponse(whole);
    assert.equal(parsed?.response.status, 201);
    assert.equal(parsed?.response.headers.location, '/v2/a');
    assert.equal(parsed?.response.body.toString(), 'hello');
    assert.equal(parsed?.length, whole.length);
  });

  it('joins a chunked body and ends after the last chunk', () => {
    const whole = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\na\r\n0123456789\r\n0\r\n\r\n');
    assert.equal(parseResponse(whole.subarray(0, whole.length - 2)), undefined);
    assert.equal(parseResponse(whole)?.response.body.toString(), 'abc0123456789');
  });

  it('reads no body after HEAD or 204', () => {
    assert.equal(parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n'), true)?.response.body.length, 0);
    assert.equal(parseResponse(Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'))?.response.status, 204);
  });

  it('fails on what is not an HTTP response or has no length', () => {
    assert.throws(() => parseResponse(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')), /not an HTTP response/);
    assert.throws(() => parseResponse(Buffer.from('HTTP/1.1 200 OK\r\n\r\nrest')), /without Content-Length/);
    assert.throws(() => parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello')), /Content-Length "5x"/);
  });
});

describe('RawHttpClient', () => {
  let server: http.Server;
  let origin: string;
  const seen: Array<{ method: string; url: string; body: string; socket: unknown }> = [];

  before(async () => {
    server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        seen.push({ method: request.method ?? '', url: request.url ?? '', body: Buffer.concat(chunks).toString(), socket: request.socket });
        if (request.url === '/close') response.setHeader('Connection', 'close');
        if (request.url === '/chunked') response.write('part ');
        response.end(`${request.method} ${request.url}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends the body, reads the answer and reuses the connection', async () => {
    const client = new RawHttpClient(origin);
    try {
      const first = await client.expect(200, { method: 'PUT', url: '/a?x=1', headers: { 'Content-Type': 'text/plain' }, body: Buffer.from('abc') });
      assert.equal(first.body.toString(), 'PUT /a?x=1');
      const second = await client.expect(200, { method: 'GET', url: `${origin}/chunked` });
      assert.equal(second.body.toString(), 'part GET /chunked');
      const [a, b] = seen.slice(-2);
      assert.equal(a?.body, 'abc');
      assert.equal(a?.socket, b?.socket, 'one keep-alive connection for both');
    } finally {
      client.close();
    }
  });

  it('opens a new connection after the server closed one, whether it said so or closed it while idle', async () => {
    const client = new RawHttpClient(origin);
    try {
      await client.expect(200, { method: 'GET', url: '/close' });
      await client.expect(200, { method: 'GET', url: '/after-close' });
      server.closeIdleConnections();
      // The client learns of the close when the FIN arrives; the request after that must reconnect.
      assert.equal(await eventually(() => client.openConnections, (open) => open === 0), 0);
      await client.expect(200, { method: 'GET', url: '/after-idle-close' });
      const sockets = seen.slice(-3).map((request) => request.socket);
      assert.equal(new Set(sockets).size, 3);
    } finally {
      client.close();
    }
  });

  it('fails rather than take a second answer to one request for the next', async (t) => {
    // A server that answers every request twice.
    const doubling = net.createServer((socket) => {
      socket.on('data', () => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb'));
    });
    await new Promise<void>((resolve) => doubling.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => doubling.close(() => resolve())));
    const client = new RawHttpClient(`http://127.0.0.1:${(doubling.address() as AddressInfo).port}`);
    try {
      await assert.rejects(client.request({ method: 'GET', url: '/' }), /more than one answer/);
    } finally {
      client.close();
    }
  });

  it('fails on an unexpected status, with the answer in the message', async () => {
    const client = new RawHttpClient(origin);
    try {
      await assert.rejects(client.expect(201, { method: 'GET', url: '/nope' }), /expected 201, got 200 GET \/nope/);
    } finally {
      client.close();
    }
  });
});
