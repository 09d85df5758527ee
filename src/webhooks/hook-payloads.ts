import type { Visibility } from '../db/schema.js';
import type { PackageAction } from '../packages/package-changes.js';
import type { PackageJson } from '../packages/package-json.js';
import type { PackageRecord, VersionRecord } from '../packages/package-service.js';

/** What a delivery's body is made of, read in the transaction of the change. */
export interface HookEventFacts {
  action: PackageAction;
  pkg: PackageRecord;
  version: VersionRecord | undefined;
  tag: string | undefined;
  from: Visibility | undefined;
  sender: { id: number; login: string } | undefined;
}

/** GitHub's event names a hook's body can follow: `package` and `registry_package` carry the same object under their own key. */
export type GithubEventName = 'package' | 'registry_package';

/** The media type of Distribution's notification envelope. */
export const distributionEnvelopeType = 'application/vnd.docker.distribution.events.v1+json';

/**
 * The bodies of deliveries. The GitHub form is GitHub's `package` (or `registry_package`) webhook
 * event, so receivers written for ghcr.io read it unchanged: the REST API's package object
 * (`PackageJson`) with the webhook's additions (`namespace`, `ecosystem`, `registry`,
 * `package_version` with `container_metadata`), `repository` when the package is linked to one,
 * `organization` for an organization's package, and `sender`. The Distribution form is its
 * notification envelope, for tools built on the reference registry's notifications.
 */
export class HookPayloads {
  private readonly registryHost: string;

  constructor(
    private readonly json: PackageJson,
    private readonly publicUrl: string,
  ) {
    this.registryHost = new URL(publicUrl).host;
  }

  github(event: GithubEventName, facts: HookEventFacts): Record<string, unknown> {
    const { pkg, version } = facts;
    const owner = this.json.ownerJson(pkg.owner);
    const tag = facts.tag ?? version?.tags[0];
    const reference = `${this.registryHost}/${pkg.repository}${tag ? `:${tag}` : version ? `@${version.digest}` : ''}`;
    const body: Record<string, unknown> = {
      action: facts.action,
      [event]: {
        ...this.json.package(pkg),
        namespace: pkg.owner.login,
        // The webhook spells the package type as GitHub's GraphQL enum does; the REST API, in lower case.
        ecosystem: 'CONTAINER',
        package_type: 'CONTAINER',
        registry: { about_url: this.publicUrl, name: 'Berth', type: 'docker', url: `${this.publicUrl}/${pkg.owner.login}`, vendor: 'Berth' },
        package_version: version && {
          ...this.json.version(pkg, version),
          version: version.digest,
          summary: '',
          package_url: reference,
          installation_command: `docker pull ${reference}`,
          container_metadata: {
            tag: { name: tag ?? '', digest: version.digest },
            labels: pkg.metadata,
            manifest: { media_type: version.mediaType, digest: version.digest, size: version.size, platforms: version.platforms },
          },
        },
      },
      ...(facts.from ? { changes: { visibility: { from: facts.from } } } : {}),
      ...(pkg.source
        ? { repository: { id: pkg.source.id, name: pkg.source.name, full_name: `${pkg.source.owner.login}/${pkg.source.name}`, owner: this.json.ownerJson(pkg.source.owner), private: true } }
        : {}),
      ...(pkg.owner.kind === 'org' ? { organization: { login: owner.login, id: owner.id, url: owner.url } } : {}),
      sender: this.sender(facts.sender),
    };
    return body;
  }

  /**
   * Distribution's envelope with one event: a push for a published, moved or restored version, a
   * delete for a deleted version (its digest) or package (the repository alone, as Distribution
   * reports a repository's deletion). A package restored or made visible has no counterpart there:
   * undefined, and such hooks get no delivery.
   */
  distribution(id: string, timestamp: string, facts: HookEventFacts): Record<string, unknown> | undefined {
    const { pkg, version } = facts;
    const action = facts.action === 'version_deleted' || facts.action === 'deleted' ? 'delete' : 'push';
    if (facts.action === 'restored' || facts.action === 'visibility_changed') return undefined;
    if (facts.action !== 'deleted' && !version) return undefined;
    const target =
      facts.action === 'deleted' || !version
        ? { repository: pkg.repository }
        : {
            mediaType: version.mediaType,
            digest: version.digest,
            size: version.size,
            length: version.size,
            repository: pkg.repository,
            url: `${this.publicUrl}/v2/${pkg.repository}/manifests/${version.digest}`,
            ...(action === 'push' && (facts.tag ?? version.tags[0]) ? { tag: facts.tag ?? version.tags[0] } : {}),
          };
    return {
      events: [
        {
          id,
          timestamp,
          action,
          target,
          request: { host: this.registryHost, useragent: 'Berth' },
          actor: facts.sender ? { name: facts.sender.login } : {},
          source: { addr: this.registryHost },
        },
      ],
    };
  }

  /** GitHub's `ping`, sent when a hook is created and when asked; Distribution's form is an envelope without events. */
  ping(format: 'github' | 'distribution', hook: Record<string, unknown>, sender: { id: number; login: string } | undefined): Record<string, unknown> {
    if (format === 'distribution') return { events: [] };
    return { zen: 'Keep it logically awesome.', hook_id: hook['id'], hook, sender: this.sender(sender) };
  }

  /** The user who made the change; the operator's CLI and repository tokens act for no user. */
  private sender(sender: { id: number; login: string } | undefined) {
    return sender ? { login: sender.login, id: sender.id, type: 'User', url: `${this.publicUrl}/api/users/${sender.login}` } : { login: 'berth[bot]', id: 0, type: 'Bot' };
  }
}
