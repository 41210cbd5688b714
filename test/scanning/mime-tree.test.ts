import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import PostalMime from 'postal-mime';

import { isMimeNode, parseMimeTree, SKIPPED_PARSER_STEPS } from '../../src/scanning/mime-tree.js';
import { crlf, toBytes } from '../fixtures/hostile-mail.js';

const LIMITS = { maxNestingDepth: 32, maxHeadersSize: 1024 * 1024, maxPartCount: 100 };

describe('parseMimeTree', () => {
  it('finds the postal-mime steps it replaces', () => {
    const prototype = PostalMime.prototype as unknown as Record<string, unknown>;
    for (const step of SKIPPED_PARSER_STEPS) {
      assert.equal(typeof prototype[step], 'function', `postal-mime no longer has ${step}`);
    }
  });

  it('returns the node tree postal-mime builds', async () => {
    const raw = crlf([
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'hello',
      '--b',
      'Content-Type: application/octet-stream; name="a.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      'AAEC',
      '--b--',
    ]);
    const result = await parseMimeTree(toBytes(raw), LIMITS);
    assert.ok(result.ok);
    assert.ok(isMimeNode(result.root));
    assert.equal(result.root.childNodes.length, 2);
    const attachment = result.root.childNodes[1];
    assert.deepEqual([...new Uint8Array(attachment?.content ?? new ArrayBuffer(0))], [0, 1, 2]);
    assert.equal(result.partCount, 3);
  });

  it('leaves a nested message as a raw leaf', async () => {
    const raw = crlf(['Content-Type: message/rfc822', '', 'Subject: inner', '', 'body']);
    const result = await parseMimeTree(toBytes(raw), LIMITS);
    assert.ok(result.ok);
    assert.equal(result.root.childNodes.length, 0);
    assert.match(Buffer.from(result.root.content ?? new ArrayBuffer(0)).toString(), /^Subject: inner/);
  });

  it('maps postal-mime limit errors to failure codes', async () => {
    const parts = await parseMimeTree(
      toBytes(`Content-Type: multipart/mixed; boundary=a\r\n\r\n${'--a\r\n\r\nx\r\n'.repeat(200)}--a--`),
      LIMITS,
    );
    assert.deepEqual(parts.ok ? 'ok' : parts.code, 'mime-parts');
    const headers = await parseMimeTree(toBytes(`X-Long: ${'a'.repeat(2048)}\r\n\r\nbody`), {
      ...LIMITS,
      maxHeadersSize: 1024,
    });
    assert.deepEqual(headers.ok ? 'ok' : headers.code, 'header-bytes');
  });

  it('rejects values that are not MIME nodes', () => {
    assert.equal(isMimeNode(undefined), false);
    assert.equal(isMimeNode({ childNodes: [] }), false);
  });
});
