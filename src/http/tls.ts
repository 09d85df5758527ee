import { readFile } from 'node:fs/promises';
import type { SecureContextOptions } from 'node:tls';

/** Where the certificate and key live, read again on every reload. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** The certificate and key as a server takes them. */
export type TlsCredentials = Required<Pick<SecureContextOptions, 'cert' | 'key'>>;

export async function readTlsFiles(files: TlsFiles): Promise<TlsCredentials> {
  const [cert, key] = await Promise.all([readFile(files.cert), readFile(files.key)]);
  return { cert, key };
}

/** A TLS server whose certificate can be replaced (both `https.Server` and `Http2SecureServer`). */
interface SecureServer {
  setSecureContext(options: SecureContextOptions): void;
}

/**
 * Replaces the certificate served to new connections; connections already open keep theirs.
 * A certificate that does not match its key is refused and the old one stays.
 */
export async function replaceCertificate(server: unknown, files: TlsFiles): Promise<void> {
  const credentials = await readTlsFiles(files);
  (server as SecureServer).setSecureContext(credentials);
}
