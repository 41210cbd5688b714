import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  MAX_URLS_PER_MESSAGE,
  createEmbeddedAntiphishing,
  extractUrls,
} from '../../../src/scanning/antiphishing/index.js';
import {
  collectLinks,
  sliceAtLineBreaks,
  truncateToUtf8Bytes,
} from '../../../src/scanning/antiphishing/url-extraction.js';
import type { Deadline, MessageView, TextBody } from '../../../src/scanning/types.js';

const NO_DEADLINE: Deadline = { expiresAt: Number.POSITIVE_INFINITY, expired: () => false };
const MIB = 1024 * 1024;

function makeView(bodies: TextBody[], subject = ''): MessageView {
  return {
    raw: new Uint8Array(),
    context: {},
    headers: [],
    subject,
    bodies,
    parts: [],
    nestedMessages: [],
    complete: true,
  };
}

function htmlView(html: string): MessageView {
  return makeView([{ path: '1', type: 'html', text: html }]);
}

function hrefs(view: MessageView, maxHtmlBytes = MIB): string[] {
  return extractUrls(view, maxHtmlBytes).map((url) => url.href);
}

describe('extractUrls', () => {
  it('extracts scheme and www. URLs from plain text', () => {
    const view = makeView([
      {
        path: '1',
        type: 'plain',
        text: 'See https://Fabrikam.com/a?b=1, ftp://files.example/x and www.tailspin.xyz/offer.\n',
      },
    ]);
    const urls = extractUrls(view, MIB);
    assert.deepEqual(
      urls.map((url) => url.href),
      ['https://fabrikam.com/a?b=1', 'ftp://files.example/x', 'http://www.tailspin.xyz/offer'],
    );
    assert.ok(urls.every((url) => url.source === 'text' && url.mimePath === '1'));
  });

  it('keeps user information inside a text URL', () => {
    const view = makeView([{ path: '1', type: 'plain', text: 'http://contoso.com@evil.example/' }]);
    assert.deepEqual(
      extractUrls(view, MIB).map((url) => url.hostname),
      ['evil.example'],
    );
  });

  it('extracts the subject URL with an empty path', () => {
    const urls = extractUrls(makeView([], 'Urgent: verify at http://verify.example/now'), MIB);
    assert.equal(urls.length, 1);
    assert.equal(urls[0]?.href, 'http://verify.example/now');
    assert.equal(urls[0]?.source, 'subject');
    assert.equal(urls[0]?.mimePath, '');
  });

  it('extracts every HTML source', () => {
    const html = [
      '<html><head><meta http-equiv="Refresh" content="0; URL=\'http://refresh.example/\'"></head>',
      '<body><a href="http://a.example/">A</a>',
      '<map><area href="http://area.example/"></map>',
      '<img src="http://img.example/i.gif"><iframe src="http://frame.example/"></iframe>',
      '<script src="http://script.example/s.js"></script><embed src="http://embed.example/e">',
      '<form action="http://form.example/post"></form></body></html>',
    ].join('');
    const urls = extractUrls(htmlView(html), MIB);
    assert.deepEqual(
      urls.map((url) => [url.source, url.hostname]),
      [
        ['meta-refresh', 'refresh.example'],
        ['href', 'a.example'],
        ['href', 'area.example'],
        ['src', 'img.example'],
        ['src', 'frame.example'],
        ['src', 'script.example'],
        ['src', 'embed.example'],
        ['form-action', 'form.example'],
      ],
    );
  });

  it('extracts a meta refresh URL without url=', () => {
    const view = htmlView('<meta http-equiv="refresh" content="5;http://later.example/x">');
    assert.deepEqual(hrefs(view), ['http://later.example/x']);
  });

  it('records anchor text with whitespace collapsed', () => {
    const urls = extractUrls(
      htmlView('<a href="http://a.example/">\n  Sign <b>in</b>\n here </a>'),
      MIB,
    );
    assert.equal(urls[0]?.anchorText, 'Sign in here');
  });

  it('closes an unclosed anchor at the next anchor', () => {
    const urls = extractUrls(
      htmlView('<a href="http://a.example/">first<a href="http://b.example/">second'),
      MIB,
    );
    assert.deepEqual(
      urls.map((url) => [url.hostname, url.anchorText]),
      [
        ['a.example', 'first'],
        ['b.example', 'second'],
      ],
    );
  });

  it('resolves relative links against base href', () => {
    const view = htmlView(
      '<base href="http://base.example/dir/"><a href="login.php">x</a><a href="//other.example/">y</a>',
    );
    assert.deepEqual(hrefs(view), [
      'http://base.example/dir/',
      'http://base.example/dir/login.php',
      'http://other.example/',
    ]);
    assert.equal(extractUrls(view, MIB)[0]?.source, 'base');
  });

  it('drops relative and non-web links', () => {
    const view = htmlView(
      '<a href="/local">a</a><a href="#top">b</a><a href="mailto:x@contoso.com">c</a>' +
        '<a href="javascript:void(0)">d</a><img src="cid:logo@1"><img src="data:image/png;base64,AAAA">',
    );
    assert.deepEqual(hrefs(view), []);
  });

  it('decodes entities in attributes', () => {
    const view = htmlView('<a href="http&#58;//ent.example/?a=1&amp;b=2">x</a>');
    assert.deepEqual(hrefs(view), ['http://ent.example/?a=1&b=2']);
  });

  it('lists each distinct URL once', () => {
    const view = makeView([
      { path: '1', type: 'plain', text: 'http://a.example/ http://a.example/' },
      {
        path: '2',
        type: 'html',
        text: '<img src="http://a.example/"><a href="http://a.example/">a</a>',
      },
    ]);
    const urls = extractUrls(view, MIB);
    assert.deepEqual(
      urls.map((url) => [url.source, url.mimePath]),
      [
        ['text', '1'],
        ['href', '2'],
      ],
    );
  });

  it('reads an HTML body without tags as text', () => {
    const view = makeView([{ path: '1', type: 'html', text: 'go to www.fabrikam.com today' }]);
    assert.deepEqual(hrefs(view), ['http://www.fabrikam.com/']);
  });

  it('finds text links among lines without links', () => {
    const text = [
      'Hello,\r',
      'see http://a.example/x. or //b.example/p\r',
      'mail mailto:someone@c.example today',
      'http:',
      '//d.example/ starts a line',
      'visit www.e.example too',
    ].join('\n');
    const view = makeView([{ path: '1', type: 'plain', text }]);
    assert.deepEqual(hrefs(view), [
      'http://a.example/x',
      'http://b.example/p',
      'http://d.example/',
      'http://www.e.example/',
    ]);
  });

  it('skips HTML without link markup', () => {
    const html = '<html><body><p style="color:red">Call us at www.fabrikam.com</p></body></html>';
    const collection = collectLinks(htmlView(html), MIB, NO_DEADLINE);
    assert.deepEqual(collection.urls, []);
    assert.deepEqual(collection.passwordForms, []);
  });

  it('reads link markup in any letter case', () => {
    assert.deepEqual(hrefs(htmlView('<A HREF="http://upper.example/">x</A>')), [
      'http://upper.example/',
    ]);
    const form = '<FORM><INPUT TYPE=PASSWORD></FORM>';
    const collection = collectLinks(htmlView(form), MIB, NO_DEADLINE);
    assert.deepEqual(collection.passwordForms, [
      { mimePath: '1', hasAction: false, action: undefined },
    ]);
  });

  it('reads bodies of nested messages with their paths', () => {
    const view = makeView([
      { path: '1', type: 'plain', text: 'see attached' },
      { path: '2/1', type: 'html', text: '<a href="http://nested.example/">n</a>' },
    ]);
    const urls = extractUrls(view, MIB);
    assert.equal(urls[0]?.mimePath, '2/1');
  });

  it('finds links after deeply nested elements', () => {
    const html = `${'<div>'.repeat(2000)}<a href="http://deep.example/">deep.example</a>`;
    const urls = extractUrls(htmlView(html), MIB);
    assert.deepEqual(
      urls.map((url) => [url.hostname, url.anchorText]),
      [['deep.example', 'deep.example']],
    );
  });

  it('never throws on malformed HTML', () => {
    const samples = [
      '<a href="http://a.example/">unclosed <b><i><table><tr><td>',
      '<a href="http://nul\u0000.example/">x\u0000y</a>\u0000<img src="\u0000">',
      '<a href="http://ent.example/?q=&amp&#xZZZ;&#99999999;&bogus;">&#;&#x;&</a>',
      '<<<>>><a href=><a href><form action><input type=password></form',
      '<!-- unterminated comment <a href="http://c.example/">',
      '<script>if (a < b) { document.write("<a href=\'x\'>") }</script><a href="http://d.example/">d',
      '<svg><a href="http://svg.example/"><math><mi></svg></math>',
      '</a></form></div></p></br>',
    ];
    for (const html of samples) {
      assert.doesNotThrow(() => extractUrls(htmlView(html), MIB), html);
    }
    assert.deepEqual(hrefs(htmlView(samples[0] ?? '')), ['http://a.example/']);
  });

  it('parses only the first maxHtmlBytes of a body', () => {
    const html = `<a href="http://early.example/">a</a>${' '.repeat(200)}<a href="http://late.example/">b</a>`;
    assert.deepEqual(hrefs(htmlView(html), 100), ['http://early.example/']);
    const collection = collectLinks(htmlView(html), 100, NO_DEADLINE);
    assert.deepEqual(collection.truncatedBodies, [{ mimePath: '1', type: 'html' }]);
  });

  it('bounds time and memory on a 50 MB nested-div body', async () => {
    const html = `${'<div>'.repeat(10 * MIB)}<a href="http://203.0.113.1/">x</a>`;
    const engine = createEmbeddedAntiphishing({ organizationDomains: [], maxHtmlBytes: 8 * MIB });
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const result = await engine.scan(htmlView(html), NO_DEADLINE);
    const elapsedMs = performance.now() - started;
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    assert.ok(elapsedMs < 5000, `took ${elapsedMs} ms`);
    assert.ok(heapGrowth < 200 * MIB, `heap grew by ${heapGrowth} bytes`);
    assert.deepEqual(
      result.findings.map((finding) => finding.signature),
      ['limit.html-bytes'],
    );
  });

  it('stops at the URL limit', () => {
    const lines: string[] = [];
    for (let index = 0; index <= MAX_URLS_PER_MESSAGE; index += 1) {
      lines.push(`http://h${index}.example/`);
    }
    const view = makeView([{ path: '1', type: 'plain', text: lines.join('\n') }]);
    const collection = collectLinks(view, 8 * MIB, NO_DEADLINE);
    assert.equal(collection.urls.length, MAX_URLS_PER_MESSAGE);
    assert.equal(collection.urlLimitReached, true);
  });

  it('stops at a passed deadline', () => {
    const expired: Deadline = { expiresAt: 0, expired: () => true };
    const collection = collectLinks(htmlView('<a href="http://a.example/">a</a>'), MIB, expired);
    assert.equal(collection.timedOut, true);
    assert.deepEqual(collection.urls, []);
  });
});

describe('truncateToUtf8Bytes', () => {
  it('keeps short text whole', () => {
    assert.deepEqual(truncateToUtf8Bytes('abc', 10), { text: 'abc', truncated: false });
  });

  it('cuts at a character boundary', () => {
    // "é" is two bytes in UTF-8, so five bytes hold "aé" and "b" but not the second "é".
    assert.deepEqual(truncateToUtf8Bytes('a\u00e9b\u00e9', 5), {
      text: 'a\u00e9b',
      truncated: true,
    });
    assert.deepEqual(truncateToUtf8Bytes('\u{1F600}x', 3), { text: '', truncated: true });
  });
});

describe('sliceAtLineBreaks', () => {
  it('cuts at line breaks and keeps every character', () => {
    const text = 'aaaa\nbbbb\ncccc';
    const slices = [...sliceAtLineBreaks(text, 6)];
    assert.equal(slices.join(''), text);
    assert.deepEqual(slices, ['aaaa', '\nbbbb', '\ncccc']);
  });

  it('cuts a line without spaces hard', () => {
    assert.deepEqual([...sliceAtLineBreaks('abcdefgh', 3)], ['abc', 'def', 'gh']);
  });
});
