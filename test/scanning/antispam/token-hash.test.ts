import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  classifyMessage,
  classifyTokens,
  loadSpamModel,
  tokenize,
  trainSpamModel,
} from '../../../src/scanning/antispam/index.js';
import { domainSuffixes } from '../../../src/scanning/antispam/header-tokens.js';
import {
  HashTokenSink,
  hashPrefixed,
  hashToken,
} from '../../../src/scanning/antispam/token-hash.js';
import { StringTokenSink } from '../../../src/scanning/antispam/token-sink.js';
import { emitTokens, MAX_TOKENS_PER_MESSAGE } from '../../../src/scanning/antispam/tokenize.js';
import type { MessageView } from '../../../src/scanning/types.js';
import { makeView, textMessage } from './views.js';

const RECEIVED =
  'from mail.sender.example.net (mail.sender.example.net [203.0.113.9]) by mx.example.org ' +
  '(Postfix) with ESMTP id 1234ABC for <bob@example.org>; Tue, 6 Aug 2002 11:51:02 +0100';

const HTML = `<html><head><title>Offer</title><style>p { color: red }</style></head>
<body><p>Dear&nbsp;friend, CLICK <a href="http://deals.example.com/offer?id=42&amp;x=free">here</a>
now &amp; save 50%!</p><img src="https://img.example.com/a.png"><!-- hidden words to poison the
filter: alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike -->
<script>var x = "not visible";</script><form action="http://203.0.113.7:8080/submit"></form>
<p>caf&eacute; na&iuml;ve &#x263A; &copy; 2002</p></body></html>`;

const PLAIN = `Hello Bob,

The meeting moved to 12/05/2002 at 10:30, room 4B. Call 5551234 or +1-555-0100.
Re:hello note: this:that mp3player v2.0.1 TCP/IP e-mail (see www.example.org/docs).
Visit http://Example.COM/Path/To/Page.html?Query=Yes or HTTPS://secure.example.net:8443/x,
also ftp://files.example.org/pub and Www.mixed-case.example.com, but not Http:/broken or wwwx.
Mail alice.smith@example.co.uk or <mailto:sales@example.com>; "quoted@example.org".
Supercalifragilistic antidisestablishmentarianism abc ab a abcdefghijkl abcdefghijklm.
--- ((edge)) [[punctuation]] ...dots... !!bang!! ~tilde~ _under_ =equals= |pipe|
Thanks,
Ann
`;

const NON_ASCII =
  'Größere Straße ÜBER alles. Привет МИР как дела. İstanbul ıiİI KELVIN ſtraße ΣΊΣΥΦΟΣ ' +
  'ﬁne ﬂow ǅemal 日本語のテキスト café naïve\u00a0nbsp\u2003emspace\u3000ideographic ' +
  'tab\there\u2028line\u2029para \u{1f600}emoji 123€ €100 ８０００';

/** Messages that exercise the word, URL, email, HTML and header paths of the tokenizer. */
function variedViews(): MessageView[] {
  const headers: [string, string][] = [
    ['received', RECEIVED],
    ['received', 'from localhost (127.0.0.1) by localhost with IMAP; Tue, 6 Aug 2002'],
    ['from', '"Sales Team" <offers@mail.example.com>'],
    ['reply-to', 'no-reply@example.net'],
    ['to', 'Undisclosed recipients:;'],
    ['subject', 'WIN a FREE prize!!!   Today 12/05 only: 50% off'],
    ['message-id', '<20020806115102.ABC123@mail.example.com>'],
    ['x-mailer', 'Microsoft Outlook Express 6.00.2600.0000'],
    ['content-type', 'multipart/alternative; boundary="----=_NextPart_000_0001_01C23D41"'],
    ['x-spam-status', 'No, hits=0.0'],
    ['list-id', '<list.example.org>'],
    ['mime-version', '1.0'],
  ];
  const longText = Array.from({ length: 400 }, (_, index) => `word${index % 37} Term${index}`)
    .join(' ')
    .concat(' ', 'x'.repeat(200));
  return [
    makeView(),
    textMessage('hello', PLAIN),
    textMessage('Grüße', NON_ASCII, 'Jürgen Müller <juergen@example.de>'),
    makeView({ headers, bodies: [{ path: '1', type: 'html', text: HTML }] }),
    makeView({
      headers,
      bodies: [
        { path: '1.1', type: 'plain', text: PLAIN },
        { path: '1.2', type: 'html', text: HTML },
        { path: '2', type: 'plain', text: NON_ASCII },
      ],
    }),
    textMessage('numbers', longText),
    textMessage('', '   \n\t  '),
    textMessage('edge', 'abc'),
    textMessage('colons', 'first:word second: :third a:b:c date-like 2002-08-06T10:30'),
    textMessage('markup', '<html><body>FREE via<!-- x -->gra for YOU</body></html>'),
  ];
}

/** Distinct hashes in emission order, as classifyMessage receives them. */
function hashesFromHashSink(view: MessageView): number[] {
  const hashes: number[] = [];
  const sink = new HashTokenSink();
  sink.start({ add: (hash) => hashes.push(hash) });
  emitTokens(view, sink);
  return hashes;
}

/** Hashes of the string tokens in emission order, keeping the first of each hash. */
function hashesFromStringSink(view: MessageView): number[] {
  const hashes: number[] = [];
  const seen = new Set<number>();
  emitTokens(
    view,
    new StringTokenSink((token) => {
      const hash = hashToken(token);
      if (!seen.has(hash) && seen.size < MAX_TOKENS_PER_MESSAGE) {
        seen.add(hash);
        hashes.push(hash);
      }
    }),
  );
  return hashes;
}

describe('HashTokenSink', () => {
  it('hashes the same tokens as StringTokenSink', () => {
    for (const [index, view] of variedViews().entries()) {
      assert.deepEqual(hashesFromHashSink(view), hashesFromStringSink(view), `view ${index}`);
    }
  });

  it('hashes a character range as the joined string', () => {
    const hashes: number[] = [];
    const sink = new HashTokenSink();
    sink.start({ add: (hash) => hashes.push(hash) });
    sink.rangeToken('caps:', 'say FREE now', 4, 8);
    assert.deepEqual(hashes, [hashToken('caps:FREE')]);
  });

  it('hashes a prefixed token as the joined string', () => {
    const cases = [
      ['received:host:', 'example.net'],
      ['from:name:', 'ünïcode'],
      ['', 'whole'],
      ['header:', ''],
    ];
    for (const [prefix, value] of cases) {
      assert.equal(hashPrefixed(prefix, value), hashToken(prefix + value), prefix + value);
      const hashes: number[] = [];
      const sink = new HashTokenSink();
      sink.start({ add: (hash) => hashes.push(hash) });
      sink.emit(prefix, value);
      sink.emit(prefix + value);
      assert.deepEqual(hashes, [hashToken(prefix + value)], prefix + value);
    }
  });

  it('passes a prefixed token joined to StringTokenSink', () => {
    const tokens: string[] = [];
    const sink = new StringTokenSink((token) => tokens.push(token));
    sink.emit('url:path:', 'offer');
    sink.emit('body:none');
    assert.deepEqual(tokens, ['url:path:offer', 'body:none']);
  });

  it('stops at the token limit', () => {
    const words = Array.from({ length: MAX_TOKENS_PER_MESSAGE }, (_, index) => `w${index}x`);
    const view = textMessage('many', words.join(' '));
    const hashes = hashesFromHashSink(view);
    assert.equal(hashes.length, MAX_TOKENS_PER_MESSAGE);
    assert.deepEqual(hashes, hashesFromStringSink(view));
  });

  it('forgets the previous message on start', () => {
    const view = textMessage('hello', PLAIN);
    const sink = new HashTokenSink();
    const first: number[] = [];
    const second: number[] = [];
    sink.start({ add: (hash) => first.push(hash) });
    emitTokens(view, sink);
    sink.start({ add: (hash) => second.push(hash) });
    emitTokens(view, sink);
    assert.deepEqual(second, first);
  });
});

describe('classifyMessage against classifyTokens', () => {
  it('gives identical scores with the shipped model', async () => {
    const model = await loadSpamModel();
    for (const [index, view] of variedViews().entries()) {
      const expected = classifyTokens(model, tokenize(view));
      const actual = classifyMessage(model, view);
      assert.ok(Object.is(actual.score, expected.score), `score of view ${index}`);
      assert.equal(actual.clueCount, expected.clueCount, `clue count of view ${index}`);
    }
  });

  it('gives identical scores with a model trained on the same messages', async () => {
    const views = variedViews();
    const model = await trainSpamModel(
      views.map((view, index) => ({ view, spam: index % 2 === 0 })),
      { threshold: 0.9, minTokenMessages: 1 },
    );
    for (const [index, view] of views.entries()) {
      const expected = classifyTokens(model, tokenize(view));
      const actual = classifyMessage(model, view);
      assert.ok(expected.clueCount > 0 || index === 0, `view ${index} has clues`);
      assert.ok(Object.is(actual.score, expected.score), `score of view ${index}`);
      assert.equal(actual.clueCount, expected.clueCount, `clue count of view ${index}`);
    }
  });
});

describe('domainSuffixes', () => {
  /** The definition: the last 2, 3 and 4 non-empty labels, joined by dots. */
  function referenceSuffixes(host: string): string[] {
    const labels = host.split('.').filter((label) => label.length > 0);
    const suffixes: string[] = [];
    for (let count = 2; count <= Math.min(labels.length, 4); count += 1) {
      suffixes.push(labels.slice(-count).join('.'));
    }
    return suffixes;
  }

  it('matches the label definition', () => {
    const hosts = [
      '',
      '.',
      'com',
      'example.com',
      'a.b.c.example.co.uk',
      'a..example.com.',
      '..x..',
    ];
    for (const host of hosts) {
      assert.deepEqual(domainSuffixes(host), referenceSuffixes(host), host);
      assert.deepEqual(domainSuffixes(host, 2), referenceSuffixes(host).slice(0, 2), host);
    }
  });
});
