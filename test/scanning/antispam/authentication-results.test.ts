import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseAuthenticationResults } from '../../../src/scanning/antispam/index.js';

describe('parseAuthenticationResults', () => {
  it('reads the authserv-id, version, methods and properties', () => {
    const parsed = parseAuthenticationResults(
      'mx.example.net 1; spf=pass smtp.mailfrom=example.com; dkim=fail (bad signature) header.d=example.com',
    );
    assert.equal(parsed.authservId, 'mx.example.net');
    assert.equal(parsed.results.length, 2);
    assert.equal(parsed.results[0].method, 'spf');
    assert.equal(parsed.results[0].result, 'pass');
    assert.equal(parsed.results[0].properties['smtp.mailfrom'], 'example.com');
    assert.equal(parsed.results[1].method, 'dkim');
    assert.equal(parsed.results[1].result, 'fail');
    assert.equal(parsed.results[1].properties['header.d'], 'example.com');
  });

  it('accepts the Exchange Online form without an authserv-id', () => {
    const parsed = parseAuthenticationResults(
      'spf=fail (sender IP is 192.0.2.1) smtp.mailfrom=example.com; dkim=none (message not signed) ' +
        'header.d=none;dmarc=fail action=oreject header.from=example.com;compauth=fail reason=000',
    );
    assert.equal(parsed.authservId, undefined);
    assert.deepEqual(
      parsed.results.map((result) => `${result.method}=${result.result}`),
      ['spf=fail', 'dkim=none', 'dmarc=fail', 'compauth=fail'],
    );
    assert.equal(parsed.results[2].properties.action, 'oreject');
    assert.equal(parsed.results[3].reason, '000');
  });

  it('drops nested comments and keeps quoted semicolons', () => {
    const parsed = parseAuthenticationResults(
      'mx.example.net; dkim=pass (comment (nested; still comment)) reason="a; b" header.i=@example.com',
    );
    assert.equal(parsed.results.length, 1);
    assert.equal(parsed.results[0].reason, 'a; b');
    assert.equal(parsed.results[0].properties['header.i'], '@example.com');
  });

  it('returns no results for none and for garbage', () => {
    assert.deepEqual(parseAuthenticationResults('mx.example.net; none').results, []);
    assert.deepEqual(parseAuthenticationResults(';;; ((( =;=').results, []);
    assert.deepEqual(parseAuthenticationResults('').results, []);
  });
});
