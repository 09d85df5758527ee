import type { ChildProcess } from 'node:child_process';
import net from 'node:net';

/**
 * What the tests and the bench both need to run servers as child processes on loopback: a free
 * port to give one, and a way to end one they started.
 */

/** Picks a free loopback port by binding port 0 and closing the socket. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port from listen(0)'));
        return;
      }
      const { port } = address;
      server.close(() => resolve(port));
    });
  });
}

/** Ends a child this process started: SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(killer);
}
