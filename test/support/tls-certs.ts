import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execOk } from './exec.js';

/** A certificate authority made for one test run with openssl. */
export interface TestCa {
  /** PEM certificate: what clients trust. */
  cert: string;
  key: string;
}

export interface ServerCert {
  cert: string;
  key: string;
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** Makes a CA in `dir` (`ca.crt`, `ca.key`). */
export async function makeCa(dir: string, name = 'Berth test CA'): Promise<TestCa> {
  const cert = path.join(dir, 'ca.crt');
  const key = path.join(dir, 'ca.key');
  const extensions = ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'];
  await execOk('openssl', ['req', '-x509', ...ecKey, '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`, ...extensions]);
  return { cert, key };
}

/** Issues a server certificate for 127.0.0.1 and localhost, signed by `ca`, as `<name>.crt` and `<name>.key` in `dir`. */
export async function makeServerCert(dir: string, ca: TestCa, name: string): Promise<ServerCert> {
  const cert = path.join(dir, `${name}.crt`);
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const extensions = path.join(dir, `${name}.ext`);
  await writeFile(extensions, 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  await execOk('openssl', ['req', ...ecKey, '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  await execOk('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', extensions]);
  return { cert, key };
}
