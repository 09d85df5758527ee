import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configLabels, imageMetadata, truncateCharacters } from './image-metadata.js';

const key = (name: string) => `org.opencontainers.image.${name}`;

describe('imageMetadata', () => {
  it('takes each key from the first source that has it', () => {
    const metadata = imageMetadata([
      { [key('description')]: 'from the index' },
      { [key('description')]: 'from a platform image', [key('licenses')]: 'Apache-2.0' },
      { [key('source')]: 'https://git.example.com/acme/app' },
    ]);
    assert.deepEqual(metadata, {
      description: 'from the index',
      licenses: 'Apache-2.0',
      source: 'https://git.example.com/acme/app',
    });
  });

  it('cuts a long multibyte description at 512 characters, not bytes', () => {
    const long = 'ü😀'.repeat(400);
    const metadata = imageMetadata([{ [key('description')]: long }]);
    const characters = Array.from(metadata.description ?? '');
    assert.equal(characters.length, 512);
    assert.equal(characters[511], '😀');
    assert.ok(!/[\ud800-\udbff]$/.test(metadata.description ?? ''), 'no lone surrogate at the end');
  });

  it('cuts licenses at 256 characters and ignores empty, blank and non-string values', () => {
    const metadata = imageMetadata([
      { [key('licenses')]: 'M'.repeat(300), [key('title')]: '   ', [key('version')]: 3 },
      { [key('title')]: 'App' },
    ]);
    assert.equal(metadata.licenses?.length, 256);
    assert.equal(metadata.title, 'App');
    assert.equal(metadata.version, undefined);
  });

  it('drops control characters but keeps line breaks', () => {
    assert.equal(imageMetadata([{ [key('description')]: 'a\u0000b\nc\u001b' }]).description, 'ab\nc');
  });
});

describe('truncateCharacters', () => {
  it('leaves short text alone', () => {
    assert.equal(truncateCharacters('héllo', 5), 'héllo');
    assert.equal(truncateCharacters('héllo', 2), 'hé');
  });
});

describe('configLabels', () => {
  it('reads config.Labels and tolerates configs without them', () => {
    assert.deepEqual(configLabels({ config: { Labels: { a: 'b' } } }), { a: 'b' });
    assert.equal(configLabels({ config: {} }), undefined);
    assert.equal(configLabels(null), undefined);
    assert.equal(configLabels('x'), undefined);
  });
});
