import { type ContainersEnv, createContainersEnv } from './containers-env.js';
import { execOk } from './exec.js';
import type { ExecResult } from './exec.js';
import { type RegistryHandle, startRegistry } from './registry-process.js';

/** Runs skopeo with an isolated config; `registry` supplies plain-HTTP and credential flags. */
export class Skopeo {
  constructor(
    private readonly containers: ContainersEnv,
    private readonly registry: RegistryHandle,
  ) {}

  private credsArg(side: 'src' | 'dest'): string[] {
    const creds = this.registry.credentials;
    return creds === undefined ? [`--${side}-no-creds`] : [`--${side}-creds`, `${creds.username}:${creds.password}`];
  }

  private transportArgs(side: 'src' | 'dest', ref: string): string[] {
    return ref.startsWith('docker://') ? [`--${side}-tls-verify=false`, ...this.credsArg(side)] : [];
  }

  run(args: readonly string[], timeoutMs = 120_000): Promise<ExecResult> {
    return execOk('skopeo', ['--policy', this.containers.policyPath, ...args], { env: this.containers.env, timeoutMs });
  }

  /** `skopeo copy [--all] SRC DEST`, keeping digests (`--preserve-digests`). */
  copy(src: string, dest: string, extra: readonly string[] = []): Promise<ExecResult> {
    return this.run([
      'copy',
      '--retry-times',
      '0',
      ...this.transportArgs('src', src),
      ...this.transportArgs('dest', dest),
      ...extra,
      src,
      dest,
    ]);
  }

  /** `skopeo inspect --raw REF`: the manifest bytes as the source serves them. */
  async inspectRaw(ref: string): Promise<Buffer> {
    const args = ['inspect', '--raw'];
    if (ref.startsWith('docker://')) {
      const creds = this.registry.credentials;
      args.push('--tls-verify=false', ...(creds === undefined ? ['--no-creds'] : ['--creds', `${creds.username}:${creds.password}`]));
    }
    const { stdout } = await this.run([...args, ref]);
    return Buffer.from(stdout, 'utf8');
  }

  /** `docker://HOST/REPO:TAG` (or `@DIGEST` when the reference starts with sha256:). */
  ref(repo: string, reference: string): string {
    const sep = reference.startsWith('sha256:') ? '@' : ':';
    return `docker://${this.registry.host}/${repo}${sep}${reference}`;
  }
}

/** The registry under test, started, with a skopeo set up for it; `close` stops the one and removes the other's environment. */
export async function startRegistryWithSkopeo(): Promise<{ registry: RegistryHandle; skopeo: Skopeo; close(): Promise<void> }> {
  const registry = await startRegistry();
  let containers: ContainersEnv;
  try {
    containers = await createContainersEnv([registry.host]);
  } catch (error) {
    await registry.close();
    throw error;
  }
  const close = async () => {
    await registry.close();
    await containers.cleanup();
  };
  return { registry, skopeo: new Skopeo(containers, registry), close };
}
