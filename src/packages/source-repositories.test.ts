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
});
