import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { tokenize } from '../../../src/scanning/antispam/index.js';
import { isNonAsciiWhitespace } from '../../../src/scanning/antispam/text-tokens.js';
import { MAX_TOKENS_PER_MESSAGE } from '../../../src/scanning/antispam/tokenize.js';
import { makeView, textMessage } from './views.js';

describe('tokenize', () => {
  it('prefixes header tokens with the field name', () => {
    const tokens = tokenize(
      makeView({
        headers: [
          ['from', '"Sales Team" <offers@mail.example.com>'],
          ['subject', 'Great DEALS today!'],
          ['x-mailer', 'Mailer 5.2'],
        ],
      }),
    );
    assert.ok(tokens.has('from:name:sales'));
    assert.ok(tokens.has('from:domain:example.com'));
    assert.ok(tokens.has('subject:deals'));
    assert.ok(tokens.has('subject:has-exclamation'));
    assert.ok(tokens.has('x-mailer:mailer 9.9'));
  });

  it('leaves out dates and mailbox storage fields', () => {
    const tokens = tokenize(
      makeView({
        headers: [
          ['date', 'Tue, 6 Aug 2002 11:51:02 +0100'],
          ['x-keywords', 'Junk'],
          ['delivery-date', 'Tue, 6 Aug 2002'],
        ],
      }),
    );
    assert.ok(![...tokens].some((token) => /2002|aug|junk/i.test(token)));
  });

  it('leaves out mailing-list fields and footers', () => {
    const tokens = tokenize(
      makeView({
        headers: [
          ['list-id', 'Example <example.lists.example.org>'],
          ['sender', 'example-admin@lists.example.org'],
          ['errors-to', 'example-admin@lists.example.org'],
          ['precedence', 'bulk'],
          ['x-beenthere', 'example@lists.example.org'],
        ],
        bodies: [
          {
            path: '1',
            type: 'plain',
            text: 'hello world\n______________\nsubscribe https://lists.example.org/mailman/listinfo/x\n',
          },
        ],
      }),
    );
    assert.ok(tokens.has('hello'));
    assert.ok(![...tokens].some((token) => /example\.org|bulk|subscribe|listinfo/.test(token)));
    assert.ok(![...tokens].some((token) => /^(?:header:)?(?:list-|sender|errors-to)/.test(token)));
  });

  it('takes client hosts of Received and skips local hops', () => {
    const tokens = tokenize(
      makeView({
        headers: [
          [
            'received',
            'from localhost (localhost [127.0.0.1]) by mail.internal.example with ESMTP id 1',
          ],
          [
            'received',
            'from relay.sender.example (relay.sender.example [198.51.100.7]) by mx.internal.example with SMTP',
          ],
        ],
      }),
    );
    assert.ok(tokens.has('received:host:sender.example'));
    assert.ok(tokens.has('received:ip:198.51.100'));
    assert.ok(tokens.has('received:with:smtp'));
    assert.ok(![...tokens].some((token) => token.includes('internal.example')));
  });

  it('reads words, pairs and link hosts from HTML', () => {
    const tokens = tokenize(
      makeView({
        bodies: [
          {
            path: '1',
            type: 'html',
            text: '<p>Cheap <b>watches</b></p><a href="http://shop.example.net/buy?id=1">here</a><style>.hidden{}</style>',
          },
        ],
      }),
    );
    assert.ok(tokens.has('cheap'));
    assert.ok(tokens.has('cheap watches'));
    assert.ok(tokens.has('url:host:example.net'));
    assert.ok(tokens.has('url:path:buy'));
    assert.ok(tokens.has('links:count:1'));
    assert.ok(!tokens.has('.hidden{}'));
  });

  it('finds URLs by scheme in any case', () => {
    const text = 'HTTPS://Shop.Example.NET/buy Www.Deals.Example.ORG ftp://files.example.com/pub';
    const tokens = tokenize(textMessage('links', `${text} Http:/broken wwwx hello`));
    assert.ok(tokens.has('url:host:example.net'));
    assert.ok(tokens.has('url:host:example.org'));
    assert.ok(tokens.has('url:host:example.com'));
    assert.ok(tokens.has('url:path:buy'));
    assert.ok(tokens.has('http:/broken'));
    assert.ok(tokens.has('wwwx'));
    assert.ok(tokens.has('wwwx hello'));
  });

  it('pairs words but not across URLs and emails', () => {
    const text = 'Great Deals http://example.com/x today only@example.com Now Act';
    const tokens = tokenize(textMessage('pairs', text));
    assert.ok(tokens.has('great deals'));
    assert.ok(tokens.has('now act'));
    assert.ok(!tokens.has('deals today'));
    assert.ok(!tokens.has('today now'));
    assert.ok(tokens.has('email:name:only'));
  });

  it('caps the tokens of a huge message', () => {
    const words = Array.from({ length: 50_000 }, (_, index) => `word${index.toString(36)}`);
    const view = makeView({ bodies: [{ path: '1', type: 'plain', text: words.join(' ') }] });
    const started = performance.now();
    const tokens = tokenize(view);
    assert.equal(tokens.size, MAX_TOKENS_PER_MESSAGE);
    assert.ok(performance.now() - started < 1000);
  });

  it('survives malformed HTML and headers', () => {
    const view = makeView({
      headers: [
        ['from', '<<<@@@>>>'],
        ['message-id', '<'],
        ['content-type', 'multipart/mixed; boundary='],
      ],
      bodies: [{ path: '1', type: 'html', text: '<a href=<<img src="x><!-- unclosed' }],
    });
    assert.ok(tokenize(view).size > 0);
  });

  it('keeps the case of shouted words', () => {
    const tokens = tokenize(textMessage('offer', 'Act NOW for FREE, Ok?'));
    assert.ok(tokens.has('caps:NOW'));
    assert.ok(tokens.has('caps:FREE'));
    assert.ok(tokens.has('free'));
    assert.ok(!tokens.has('caps:Act'));
    assert.ok(!tokens.has('caps:OK'));
  });

  it('reads a plain body that starts with markup as HTML', () => {
    const html =
      '\n<HTML><BODY><FONT size=3>Judgment <a href="http://x.example.com/p">courses</a>';
    const tokens = tokenize(textMessage('course', html));
    assert.ok(tokens.has('body:html-in-plain'));
    assert.ok(tokens.has('judgment'));
    assert.ok(tokens.has('url:host:example.com'));
    assert.ok(![...tokens].some((token) => token.includes('<')));
  });

  it('reads plain text mentioning a tag as text', () => {
    const tokens = tokenize(textMessage('tip', 'Use <b> for bold text in your page.'));
    assert.ok(!tokens.has('body:html-in-plain'));
  });

  it('marks a comment inside a word', () => {
    const html = '<p>buy via<!-- filler -->gra today</p>';
    const tokens = tokenize(makeView({ bodies: [{ path: '1', type: 'html', text: html }] }));
    assert.ok(tokens.has('html:comment-inside-word'));
    const spaced = '<p>buy via <!-- filler --> today</p>';
    const plain = tokenize(makeView({ bodies: [{ path: '1', type: 'html', text: spaced }] }));
    assert.ok(!plain.has('html:comment-inside-word'));
  });
});

describe('isNonAsciiWhitespace', () => {
  it('agrees with \\s for every code unit from U+0080', () => {
    const disagreeing: string[] = [];
    for (let code = 0x80; code <= 0xffff; code += 1) {
      if (isNonAsciiWhitespace(code) !== /\s/.test(String.fromCharCode(code))) {
        disagreeing.push(code.toString(16));
      }
    }
    assert.deepEqual(disagreeing, []);
  });

  it('splits words at a no-break and an ideographic space', () => {
    const text = 'alpha\u00a0bravo\u3000charlie';
    const tokens = tokenize(makeView({ bodies: [{ path: '1', type: 'plain', text }] }));
    assert.ok(tokens.has('alpha bravo'));
    assert.ok(tokens.has('bravo charlie'));
  });
});
