import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Parser } from 'htmlparser2';

import {
  HtmlLinkRecorder,
  type HtmlLink,
  type HtmlScanEnd,
  type PasswordForm,
  type RecordedHtmlScan,
  scanHtml,
} from '../../src/scanning/antiphishing/html-links.js';
import { collectLinks } from '../../src/scanning/antiphishing/url-extraction.js';
import { digestHtml } from '../../src/scanning/antispam/html-text.js';
import { MAX_BODY_CHARS, tokenize } from '../../src/scanning/antispam/tokenize.js';
import {
  MAX_SHARED_HTML_CHARS,
  MAX_SHARED_OPEN_ELEMENTS,
  analyzeHtml,
  analyzeHtmlBody,
} from '../../src/scanning/html-body-analysis.js';
import type { Deadline, MessageView, TextBody } from '../../src/scanning/types.js';

const NO_DEADLINE: Deadline = { expiresAt: Number.POSITIVE_INFINITY, expired: () => false };
const EXPIRED: Deadline = { expiresAt: 0, expired: () => true };
const MIB = 1024 * 1024;

function htmlBody(text: string): TextBody {
  return { path: '1', type: 'html', text };
}

function makeView(body: TextBody): MessageView {
  return {
    raw: new TextEncoder().encode(body.text),
    context: {},
    headers: [],
    subject: '',
    bodies: [body],
    parts: [],
    nestedMessages: [],
    complete: true,
  };
}

/** The handler calls of one antiphishing scan whose `onLink` returns false at link `stopAfter`. */
function scanCalls(
  html: string,
  options: { recorded?: RecordedHtmlScan; stopAfter?: number; deadline?: Deadline } = {},
): { calls: string[]; end: HtmlScanEnd } {
  const calls: string[] = [];
  let links = 0;
  const handler = {
    onLink(link: HtmlLink): boolean {
      calls.push(`link ${JSON.stringify(link)}`);
      links += 1;
      return links < (options.stopAfter ?? Number.POSITIVE_INFINITY);
    },
    onPasswordForm(form: PasswordForm): void {
      calls.push(`form ${JSON.stringify(form)}`);
    },
  };
  const end = scanHtml(html, handler, options.deadline ?? NO_DEADLINE, options.recorded);
  return { calls, end };
}

type EngineOrder = 'antispam-first' | 'antiphishing-first' | 'unshared';

/**
 * Runs both engines' body readers on a new view of `html`, in the given order. `unshared` first
 * requests a string that is not the body text, which turns sharing off for the body.
 */
function readBoth(html: string, order: EngineOrder, maxHtmlBytes = MIB) {
  const body = htmlBody(html);
  const view = makeView(body);
  if (order === 'unshared') {
    assert.equal(analyzeHtmlBody(body, `${html} `), undefined);
  }
  let tokens: string[];
  let links: string;
  if (order === 'antiphishing-first') {
    links = JSON.stringify(collectLinks(view, maxHtmlBytes, NO_DEADLINE));
    tokens = [...tokenize(view)];
  } else {
    tokens = [...tokenize(view)];
    links = JSON.stringify(collectLinks(view, maxHtmlBytes, NO_DEADLINE));
  }
  return { tokens, links, body };
}

function assertSameInEveryOrder(html: string, maxHtmlBytes = MIB) {
  const unshared = readBoth(html, 'unshared', maxHtmlBytes);
  for (const order of ['antispam-first', 'antiphishing-first'] as const) {
    const shared = readBoth(html, order, maxHtmlBytes);
    assert.deepEqual(shared.tokens, unshared.tokens, `${order} tokens`);
    assert.equal(shared.links, unshared.links, `${order} links`);
  }
  return unshared;
}

/** Deterministic pseudo-random numbers (mulberry32), so a failing case can be rerun. */
function randomSource(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let value = Math.imul(state ^ (state >>> 15), 1 | state);
    value = (value + Math.imul(value ^ (value >>> 7), 61 | value)) ^ value;
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

const HTML_PIECES = [
  '<a href="http://a.example/x">',
  '<A HREF=/rel>',
  '<a name=top>',
  '</a>',
  '<area href="http://area.example/">',
  '<form action=" http://form.example/login ">',
  '<form>',
  '<input type=PASSWORD>',
  '</form>',
  '<base href="http://base.example/dir/">',
  '<meta http-equiv=Refresh content="0; url=\'http://meta.example/\'">',
  '<img src="http://img.example/i.png" background=b.png>',
  '<iframe src=frame.html>',
  '<script>var a = "<a href=no>";</script>',
  '<style>p { color: red }</style>',
  '<title>Title words</title>',
  '<!-- hidden comment letters here -->',
  '<![CDATA[cdata text]]>',
  '<!doctype html>',
  '<p>',
  '<div>',
  '</div>',
  '<table><tr><td>cell',
  '<svg><a href="svg.example">s</a></svg>',
  '<br/>',
  'Visit our shop &amp; save &#x41;&lt;',
  'plain words ',
  '&',
  '<',
  '\u0000',
  ' paypal.com ',
  '<a href="http://a.example/x">',
];

function randomHtml(random: () => number): string {
  const count = 1 + Math.floor(random() * 40);
  let html = '';
  for (let index = 0; index < count; index += 1) {
    html += HTML_PIECES[Math.floor(random() * HTML_PIECES.length)];
  }
  return html;
}

describe('analyzeHtml', () => {
  it('matches digestHtml and scanHtml on random tag soup', () => {
    const random = randomSource(20240611);
    for (let round = 0; round < 400; round += 1) {
      const html = randomHtml(random);
      const analysis = analyzeHtml(html);
      assert.ok(analysis, html);
      assert.deepEqual(analysis.digest, digestHtml(html), html);
      const parsed = scanCalls(html);
      const replayed = scanCalls(html, { recorded: analysis.links });
      assert.deepEqual(replayed, parsed, html);
    }
  });

  it('replays a stopped scan like the parse', () => {
    const html =
      '<a href="http://one.example/">1</a><form action=http://two.example/><input type=password>' +
      '</form><a href="http://three.example/">3</a><img src="http://four.example/">';
    const analysis = analyzeHtml(html);
    assert.ok(analysis);
    for (const stopAfter of [1, 2, 3, 4]) {
      const parsed = scanCalls(html, { stopAfter });
      const replayed = scanCalls(html, { stopAfter, recorded: analysis.links });
      assert.deepEqual(replayed, parsed, `stop after ${stopAfter}`);
    }
    assert.equal(scanCalls(html, { stopAfter: 2, recorded: analysis.links }).end, 'stopped');
  });

  it('times out before replaying like the parse', () => {
    const html = '<a href="http://one.example/">1</a>';
    const analysis = analyzeHtml(html);
    assert.ok(analysis);
    const parsed = scanCalls(html, { deadline: EXPIRED });
    const replayed = scanCalls(html, { deadline: EXPIRED, recorded: analysis.links });
    assert.equal(parsed.end, 'timed-out');
    assert.deepEqual(replayed, parsed);
  });

  it('gives up past the open-element limit', () => {
    const limit = '<div>'.repeat(MAX_SHARED_OPEN_ELEMENTS);
    assert.ok(analyzeHtml(limit));
    assert.equal(analyzeHtml(`${limit}<div>`), undefined);
  });
});

describe('HtmlLinkRecorder', () => {
  it('returns nothing past 256 open elements', () => {
    const recorder = new HtmlLinkRecorder();
    const parser = new Parser(recorder, { decodeEntities: true });
    parser.write(`${'<span>'.repeat(257)}<a href="http://deep.example/">deep</a>`);
    parser.end();
    assert.equal(recorder.finish(), undefined);
  });
});

describe('analyzeHtmlBody', () => {
  it('parses a body once', () => {
    const body = htmlBody('<a href="http://shop.example/">shop</a>');
    const first = analyzeHtmlBody(body, body.text);
    assert.ok(first);
    assert.equal(analyzeHtmlBody(body, body.text), first);
  });

  it('shares only the body text', () => {
    const body = htmlBody('<p>Hello <a href="http://shop.example/">shop</a></p>');
    assert.equal(analyzeHtmlBody(body, body.text.slice(0, 10)), undefined);
    assert.equal(analyzeHtmlBody(body, body.text), undefined);
    assert.equal(analyzeHtmlBody({ ...body, type: 'plain' }, body.text), undefined);
  });

  it('keeps engine results on ordinary HTML', () => {
    const html =
      '<html><head><title>Offer</title><base href="http://base.example/"></head><body>' +
      '<!-- hidden words hidden words hidden words hidden words hidden words -->' +
      '<p>Dear customer, <a href="login.php">paypal.com</a> &amp; <img src=logo.gif>' +
      '<form action=verify><input type=password name=pin></form></body></html>';
    const { tokens, links } = assertSameInEveryOrder(html);
    assert.ok(tokens.includes('text:inside-html-comments'));
    assert.match(links, /http:\/\/base\.example\/login\.php/);
  });

  it('keeps engine results on a body nested 300 deep', () => {
    const link = '<a href="http://deep.example/">deep</a>';
    const html = `${'<div>'.repeat(300)}${link}${'</div>'.repeat(300)}`;
    const body = htmlBody(html);
    assert.equal(analyzeHtmlBody(body, html), undefined);
    const { tokens, links } = assertSameInEveryOrder(html);
    assert.ok(tokens.includes('url:host:deep.example'));
    assert.match(links, /deep\.example/);
  });

  it('keeps engine results past the antispam length cap', () => {
    assert.equal(MAX_SHARED_HTML_CHARS, MAX_BODY_CHARS);
    const late = '<a href="http://late.example/">late</a>';
    for (const length of [MAX_BODY_CHARS + 100, 70_000]) {
      const html = `<p>${'x'.repeat(length)}</p>${late}`;
      assert.ok(html.length > MAX_SHARED_HTML_CHARS);
      assert.equal(analyzeHtmlBody(htmlBody(html), html), undefined);
      const { tokens, links } = assertSameInEveryOrder(html);
      assert.ok(!tokens.includes('url:host:late.example'), `length ${length}`);
      assert.match(links, /late\.example/);
    }
  });

  it('keeps engine results past the antiphishing length cap', () => {
    const html = `<p>${'word '.repeat(50)}</p><a href="http://late.example/">late</a>`;
    const { tokens, links } = assertSameInEveryOrder(html, 100);
    assert.ok(tokens.includes('url:host:late.example'));
    assert.doesNotMatch(links, /late\.example/);
    assert.match(links, /"truncatedBodies":\[\{"mimePath":"1","type":"html"\}\]/);
  });
});
