import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSourceUrl } from './source-repositories.js';

describe('parseSourceUrl', () => {
  it('reads OWNER/REPO from URLs, tolerating a trailing .git or slash and scp-like Git addresses', () => {
    for (const url of [
      'https://github.com/acme/widget',
      'https://github.com/acme/widget/',
      'https://github.com/acme/widget.git',
      'https://github.com/acme/widget.git/',
      'git@github.com:acme/widget.git',
      'https://git.example.com/acme/widget/tree/main',
    ]) {
      assert.deepEqual(parseSourceUrl(url), { owner: 'acme', repo: 'widget' }, url);
    }
    assert.equal(parseSourceUrl('not a url'), undefined);
    assert.equal(parseSourceUrl('https://github.com/acme'), undefined);
  });

  it('names no repository for a malformed percent-escape, rather than throwing', () => {
    for (const url of ['https://h/o/%E0%A4%A', 'https://github.com/acme/%ZZ', 'git@github.com:acme/%E0%A4%A', 'https://github.com/%ED%A0%80/widget']) {
      assert.equal(parseSourceUrl(url), undefined, url);
    }
  });
});
