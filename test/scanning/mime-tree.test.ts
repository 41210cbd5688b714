import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import PostalMime from 'postal-mime';

import {
  isMimeNode,
  type MimeNode,
  PARSER_STEPS_USED,
  parseMimeTree,
} from '../../src/scanning/mime-tree.js';
import * as hostile from '../fixtures/hostile-mail.js';
import { crlf, toBytes } from '../fixtures/hostile-mail.js';

const LIMITS = { maxNestingDepth: 32, maxHeadersSize: 1024 * 1024, maxPartCount: 100 };

describe('parseMimeTree', () => {
  it('finds the postal-mime steps it calls', () => {
    const prototype = PostalMime.prototype as unknown as Record<string, unknown>;
    for (const step of PARSER_STEPS_USED) {
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

  it('gives every node the headers and content that postal-mime gives it', async () => {
    const bodies = [
      // 7bit lines with mixed line breaks, parts ended by a boundary and by the message end
      'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\n\r\none\ntwo\r\n\r\n--b\r\n' +
        'Content-Type: text/plain\r\n\r\nlast part without a terminator\r\n',
      // quoted-printable with soft breaks and a base64 body padded on every line
      crlf([
        'Content-Type: multipart/alternative; boundary=x',
        '',
        '--x',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'caf=C3=A9 soft=',
        'break =3D done',
        '--x',
        'Content-Type: application/octet-stream',
        'Content-Transfer-Encoding: base64',
        '',
        'AAE=',
        'AgM=',
        '--x--',
        'epilogue',
      ]),
      // a nested multipart, an empty part and a body without a final line break
      'Content-Type: multipart/mixed; boundary=o\n\n--o\n' +
        'Content-Type: multipart/related; boundary=i\n\n' +
        '--i\n\n\n--i\nContent-Type: text/html\n\n<p>x</p>\n--i--\n--o\n\nno final break',
      'Subject: only a header\r\n',
      // headers ended by a line that is no header field, once by a body line, once by a boundary
      'Content-Type: text/plain\r\nnot a header line\r\nmore',
      'Content-Type: multipart/mixed; boundary=z\r\n--z\r\n' +
        'Content-Type: text/plain\r\n\r\ninner\r\n--z--\r\n',
      // runs of carriage returns before a line feed, a carriage return inside a line, a line of
      // carriage returns only, and a last line that ends with one
      'Subject: cr\r\r\n\r\nline\rwith cr\r\r\n\r\r\n\r\nend\r',
    ];
    for (const body of bodies) {
      const raw = toBytes(body);
      const result = await parseMimeTree(raw, LIMITS);
      assert.ok(result.ok);
      const stock = new PostalMime({
        ...LIMITS,
        maxRfc822NestingDepth: 0,
        forceRfc822Attachments: true,
      });
      await stock.parse(raw);
      const stockRoot = (stock as unknown as { root: unknown }).root;
      assert.ok(isMimeNode(stockRoot));
      assert.deepEqual(contentsOf(result.root), contentsOf(stockRoot));
    }
  });

  it('crosses each limit where postal-mime does', async () => {
    const messages = [
      hostile.partCountBomb(40),
      hostile.nestedMultipartBomb(8),
      hostile.hugeHeaderLine(3000),
      // the part over the count opened by a last line without a line break
      'Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n\r\nx\r\n--a',
      // header bytes spent in a part, on a line that starts like a boundary but is not one
      'Content-Type: multipart/mixed; boundary=a\n\n--a\nX-A: 1\n--ab: 2\n\nbody\n--a--\n',
      // a multipart header inside a nested message adds no part, because the message stays a leaf
      crlf(['Content-Type: message/rfc822', '', 'Content-Type: multipart/mixed; boundary=b', '']),
    ];
    for (const message of messages) {
      const raw = toBytes(message);
      const roomy = await parseBoth(raw, LIMITS);
      assert.ok(roomy.ok, 'the message parses within roomy limits');
      const needed = {
        maxPartCount: roomy.partCount,
        maxHeadersSize: roomy.headerBytes,
        maxNestingDepth: roomy.depth,
      };
      for (const [name, value] of Object.entries(needed)) {
        const exact = await parseBoth(raw, { ...LIMITS, [name]: value });
        assert.equal(exact.ok, true, `${name} of ${value} is enough`);
        if (name === 'maxPartCount' ? value > 1 : value > 0) {
          const short = await parseBoth(raw, { ...LIMITS, [name]: value - 1 });
          assert.equal(short.ok, false, `${name} of ${value - 1} is crossed`);
        }
      }
    }
  });

  it('rejects values that are not MIME nodes', () => {
    assert.equal(isMimeNode(undefined), false);
    assert.equal(isMimeNode({ childNodes: [] }), false);
  });
});

/** Lists the headers and content of every node, depth first, with null for no body. */
function contentsOf(node: MimeNode): unknown[] {
  const own = node.content === null ? null : [...new Uint8Array(node.content)];
  return [node.headers, own, ...node.childNodes.flatMap((child) => contentsOf(child))];
}

type BothOutcome =
  | { ok: true; partCount: number; headerBytes: number; depth: number }
  | { ok: false; code: string };

/**
 * Parses `raw` with parseMimeTree and with stock postal-mime under the same limits, asserts that
 * both return the same counters or fail with the same error, and returns the outcome.
 */
async function parseBoth(raw: Uint8Array, limits: typeof LIMITS): Promise<BothOutcome> {
  const result = await parseMimeTree(raw, limits);
  const stock = new PostalMime({
    ...limits,
    maxRfc822NestingDepth: 0,
    forceRfc822Attachments: true,
  });
  let stockError = '';
  try {
    await stock.parse(raw);
  } catch (error: unknown) {
    stockError = String(Reflect.get(error as object, 'code'));
  }
  if (!result.ok) {
    assert.equal(result.detail, stockError, 'both parsers fail with the same error');
    return { ok: false, code: result.detail };
  }
  assert.equal(stockError, '', 'stock postal-mime fails where parseMimeTree does not');
  const { counters } = stock as unknown as { counters: { headerSize: number; partCount: number } };
  assert.equal(result.partCount, counters.partCount);
  assert.equal(result.headerBytes, counters.headerSize);
  return {
    ok: true,
    partCount: result.partCount,
    headerBytes: result.headerBytes,
    depth: depthOf(result.root),
  };
}

function depthOf(node: MimeNode): number {
  return node.childNodes.reduce((max, child) => Math.max(max, 1 + depthOf(child)), 0);
}
