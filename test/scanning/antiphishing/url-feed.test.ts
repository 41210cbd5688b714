import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { loadUrlFeed, parseUrlFeed } from '../../../src/scanning/antiphishing/index.js';
import { ScannerError } from '../../../src/shared/errors.js';

const FEED = [
  '# phishing feed',
  '',
  'bad.example',
  '*.wild.example',
  'Mixed.Case.EXAMPLE.',
  'https://kit.example/path/login/',
  'http://query.example/p?id=1&x=2',
  'http://port.example:8080/a',
  'http://default-port.example:80/a',
  '  https://spaced.example/x  ',
].join('\r\n');

describe('parseUrlFeed', () => {
  const feed = parseUrlFeed(FEED);

  it('counts domain and URL entries', () => {
    assert.equal(feed.domainCount, 3);
    assert.equal(feed.urlCount, 5);
    assert.equal(feed.invalidLineCount, 0);
  });

  it('matches a domain and its subdomains', () => {
    assert.equal(feed.match(new URL('http://bad.example/')), 'domain');
    assert.equal(feed.match(new URL('https://deep.sub.bad.example:8443/any?q')), 'domain');
    assert.equal(feed.match(new URL('http://x.wild.example/')), 'domain');
    assert.equal(feed.match(new URL('http://mixed.case.example/')), 'domain');
  });

  it('rejects lookalike and parent hosts of a domain', () => {
    assert.equal(feed.match(new URL('http://notbad.example/')), undefined);
    assert.equal(feed.match(new URL('http://example/')), undefined);
    assert.equal(feed.match(new URL('http://bad.example.com/')), undefined);
  });

  it('matches hosts for sender domains', () => {
    assert.equal(feed.matchesHost('mail.bad.example'), true);
    assert.equal(feed.matchesHost('BAD.EXAMPLE.'), true);
    assert.equal(feed.matchesHost('good.example'), false);
  });

  it('normalizes scheme, host, port, trailing slash and fragment', () => {
    assert.equal(feed.match(new URL('HTTPS://KIT.example:443/path/login#frag')), 'url');
    assert.equal(feed.match(new URL('https://kit.example/path/login//')), 'url');
    assert.equal(feed.match(new URL('http://default-port.example/a')), 'url');
    assert.equal(feed.match(new URL('http://port.example:8080/a/')), 'url');
    assert.equal(feed.match(new URL('https://spaced.example/x')), 'url');
  });

  it('keeps scheme, port and path case significant', () => {
    assert.equal(feed.match(new URL('http://kit.example/path/login')), undefined);
    assert.equal(feed.match(new URL('http://port.example/a')), undefined);
    assert.equal(feed.match(new URL('https://kit.example/PATH/login')), undefined);
    assert.equal(feed.match(new URL('https://kit.example/path')), undefined);
  });

  it('matches any query when the entry has none', () => {
    assert.equal(feed.match(new URL('https://kit.example/path/login?victim=42')), 'url');
  });

  it('matches only the exact query when the entry has one', () => {
    assert.equal(feed.match(new URL('http://query.example/p?id=1&x=2')), 'url');
    assert.equal(feed.match(new URL('http://query.example/p?id=1&x=2#f')), 'url');
    assert.equal(feed.match(new URL('http://query.example/p?x=2&id=1')), undefined);
    assert.equal(feed.match(new URL('http://query.example/p')), undefined);
  });

  it('skips invalid lines and reports their numbers only', () => {
    const invalid = parseUrlFeed(
      [
        'good.example',
        'two words.example',
        'mailto:x@y.example',
        'host.example/path',
        '[::1]',
      ].join('\n'),
    );
    assert.equal(invalid.domainCount, 1);
    assert.equal(invalid.invalidLineCount, 4);
    assert.deepEqual(invalid.invalidLineNumbers, [2, 3, 4, 5]);
  });

  it('keeps at most ten invalid line numbers', () => {
    const invalid = parseUrlFeed(Array.from({ length: 30 }, () => 'not valid').join('\n'));
    assert.equal(invalid.invalidLineCount, 30);
    assert.equal(invalid.invalidLineNumbers.length, 10);
  });

  it('accepts an empty feed', () => {
    const empty = parseUrlFeed('');
    assert.equal(empty.domainCount + empty.urlCount + empty.invalidLineCount, 0);
    assert.equal(empty.match(new URL('http://anything.example/')), undefined);
  });
});

describe('loadUrlFeed', () => {
  let directory = '';

  before(async () => {
    directory = await mkdtemp(join(tmpdir(), 'mailsweep-feed-'));
  });

  after(async () => {
    await rm(directory, { recursive: true, force: true });
  });

  it('reads a feed file', async () => {
    const path = join(directory, 'feed.txt');
    await writeFile(path, FEED, 'utf8');
    const feed = await loadUrlFeed(path);
    assert.equal(feed.domainCount, 3);
    assert.equal(feed.match(new URL('http://a.bad.example/')), 'domain');
  });

  it('raises config-invalid for a missing file', async () => {
    const path = join(directory, 'missing.txt');
    await assert.rejects(loadUrlFeed(path), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'config-invalid');
      assert.equal(error.transient, false);
      return true;
    });
  });
});
