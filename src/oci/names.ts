import { RegistryError } from './errors.js';

/**
 * Repository names and tags, checked against the grammar of the OCI Distribution Spec
 * ("Pulling manifests": `<name>` and `<reference>`) before they reach storage.
 */
export type RepositoryName = string & { readonly __brand: 'RepositoryName' };
export type Tag = string & { readonly __brand: 'Tag' };

const pathComponent = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const nameGrammar = new RegExp(`^${pathComponent}(?:/${pathComponent})*$`);
const tagGrammar = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Distribution limits the name to 255 characters including the host; we keep the name alone under it. */
export const maxNameLength = 255;

export function parseRepositoryName(value: string): RepositoryName {
  if (value.length === 0 || value.length > maxNameLength || !nameGrammar.test(value)) {
    throw new RegistryError('NAME_INVALID', `invalid repository name "${value.slice(0, 300)}"`, {
      detail: { name: value.slice(0, 300) },
    });
  }
  return value as RepositoryName;
}

export function isTag(value: string): value is Tag {
  return tagGrammar.test(value);
}

