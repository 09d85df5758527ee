import assert from 'node:assert/strict';
import { type IncomingMessage, createServer } from 'node:http';
import { type Socket, connect } from 'node:net';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import type { FastifyRequest } from 'fastify';
import { BodyTimeoutError, readRequestAtMost } from './request-body.js';

type Outcome = { body: Buffer | undefined; paused: boolean } | { error: Error & { code?: string } };

/** A real HTTP server whose one request is read by `readRequestAtMost`; answers what that gave. */
async function reading(t: TestContext, maxBytes: number, bodyTimeout = 5_000) {
  let settled: (outcome: Outcome) => void = () => undefined;
  const outcome = new Promise<Outcome>((resolve) => (settled = resolve));
  const server = createServer((raw: IncomingMessage, response) => {
    const request = { raw, server: { bodyTimeout } } as unknown as FastifyRequest;
    readRequestAtMost(request, maxBytes).then(
      (body) => {
        settled({ body, paused: raw.isPaused() });
        response.end();
      },
      (error: Error) => {
        settled({ error });
        response.destroy();
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as { port: number };
  const socket = await new Promise<Socket>((resolve) => {
    const opened: Socket = connect(port, '127.0.0.1', () => resolve(opened));
  });
  t.after(() => socket.destroy());
  const send = (head: string, body: Buffer) => socket.write(Buffer.concat([Buffer.from(`${head}\r\nHost: test\r\n\r\n`), body]));
  return { socket, send, outcome };
}

describe('readRequestAtMost', () => {
  it('answers the whole body, sent in several writes', async (t) => {
    const { socket, send, outcome } = await reading(t, 100);
    send('PUT / HTTP/1.1\r\nContent-Length: 10', Buffer.from('01234'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.write('56789');
    const result = await outcome;
    assert.ok('body' in result);
    assert.equal(result.body?.toString(), '0123456789');
  });

  it('answers an empty body for a request without one', async (t) => {
    const { send, outcome } = await reading(t, 100);
    send('GET / HTTP/1.1', Buffer.alloc(0));
    const result = await outcome;
    assert.ok('body' in result);
    assert.equal(result.body?.length, 0);
  });

  it('answers undefined past the limit, and stops reading the request', async (t) => {
    const { send, outcome } = await reading(t, 8);
    send('PUT / HTTP/1.1\r\nTransfer-Encoding: chunked', Buffer.from('5\r\n01234\r\n5\r\n56789\r\n'));
    const result = await outcome;
    assert.ok('body' in result);
    assert.equal(result.body, undefined);
    assert.equal(result.paused, true);
  });

  it('takes a body of exactly the limit', async (t) => {
    const { send, outcome } = await reading(t, 8);
    send('PUT / HTTP/1.1\r\nContent-Length: 8', Buffer.from('01234567'));
    const result = await outcome;
    assert.ok('body' in result);
    assert.equal(result.body?.toString(), '01234567');
  });

  it('fails when the client goes away before the end of the body', async (t) => {
    const { socket, send, outcome } = await reading(t, 100);
    send('PUT / HTTP/1.1\r\nContent-Length: 50', Buffer.from('0123456789'));
    await new Promise((resolve) => setTimeout(resolve, 20));
    socket.destroy();
    const result = await outcome;
    assert.ok('error' in result);
    assert.ok(['ECONNRESET', 'ERR_STREAM_PREMATURE_CLOSE'].includes(result.error.code ?? ''), `code ${result.error.code}`);
  });

  it('fails with the body timeout when the client stops sending', async (t) => {
    const { send, outcome } = await reading(t, 100, 100);
    send('PUT / HTTP/1.1\r\nContent-Length: 50', Buffer.from('0123456789'));
    const result = await outcome;
    assert.ok('error' in result);
    assert.ok(result.error instanceof BodyTimeoutError);
  });
});
