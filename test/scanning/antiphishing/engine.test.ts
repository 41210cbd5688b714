import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  MAX_FINDINGS_PER_SIGNATURE,
  createEmbeddedAntiphishing,
  parseUrlFeed,
} from '../../../src/scanning/antiphishing/index.js';
import type {
  Deadline,
  Finding,
  HeaderField,
  MessageView,
  ScanEngine,
  TextBody,
} from '../../../src/scanning/types.js';

const NO_DEADLINE: Deadline = { expiresAt: Number.POSITIVE_INFINITY, expired: () => false };

interface ViewOptions {
  html?: string;
  text?: string;
  subject?: string;
  from?: string;
  replyTo?: string;
}

function makeView(options: ViewOptions): MessageView {
  const bodies: TextBody[] = [];
  if (options.text !== undefined) {
    bodies.push({ path: '1', type: 'plain', text: options.text });
  }
  if (options.html !== undefined) {
    bodies.push({ path: '2', type: 'html', text: options.html });
  }
  const headers: HeaderField[] = [];
  if (options.from !== undefined) {
    headers.push({ key: 'from', value: options.from });
  }
  if (options.replyTo !== undefined) {
    headers.push({ key: 'reply-to', value: options.replyTo });
  }
  return {
    raw: new Uint8Array(),
    context: {},
    headers,
    subject: options.subject ?? '',
    bodies,
    parts: [],
    nestedMessages: [],
    complete: true,
  };
}

function makeEngine(feedText?: string): ScanEngine {
  const options = { organizationDomains: ['contoso.com'], maxHtmlBytes: 1024 * 1024 };
  return createEmbeddedAntiphishing(
    feedText === undefined ? options : { ...options, urlFeed: parseUrlFeed(feedText) },
  );
}

async function scan(options: ViewOptions, engine = makeEngine()): Promise<Finding[]> {
  const result = await engine.scan(makeView(options), NO_DEADLINE);
  return result.findings;
}

function signatures(findings: readonly Finding[]): string[] {
  return findings.map((finding) => finding.signature);
}

async function linkFindings(href: string, anchorText = 'open'): Promise<string[]> {
  return signatures(await scan({ html: `<p><a href="${href}">${anchorText}</a></p>` }));
}

describe('createEmbeddedAntiphishing', () => {
  it('names itself and its stage', () => {
    const engine = makeEngine();
    assert.equal(engine.name, 'embedded-phish');
    assert.equal(engine.stage, 'antiphishing');
  });

  it('reports nothing without links', async () => {
    assert.deepEqual(await scan({ text: 'Lunch at noon?', subject: 'lunch' }), []);
  });

  it('fills every finding field', async () => {
    const findings = await scan({ html: '<a href="http://c0ntoso.com/">x</a>' });
    assert.equal(findings.length, 1);
    const [finding] = findings;
    assert.equal(finding?.category, 'phishing');
    assert.equal(finding?.engine, 'embedded-phish');
    assert.equal(finding?.stage, 'antiphishing');
    assert.equal(finding?.mimePath, '2');
    assert.equal(finding?.signature, 'Phish.Lookalike');
  });

  it('keeps message content out of reasons', async () => {
    const findings = await scan({
      html: '<a href="http://c0ntoso.com/secret-path">www.fabrikam.com</a>',
      from: 'Someone <a@c0ntoso.com>',
    });
    assert.ok(findings.length >= 2);
    for (const finding of findings) {
      assert.ok(!finding.reason.includes('c0ntoso'), finding.reason);
      assert.ok(!finding.reason.includes('secret-path'), finding.reason);
      assert.ok(!finding.reason.includes('fabrikam'), finding.reason);
    }
  });
});

describe('Phish.Lookalike', () => {
  it('accepts the organization domain itself', async () => {
    assert.deepEqual(await linkFindings('https://contoso.com/login'), []);
  });

  it('accepts subdomains of the organization domain', async () => {
    assert.deepEqual(await linkFindings('https://mail.eu.contoso.com/'), []);
  });

  it('flags an xn-- homoglyph of contoso.com', async () => {
    // cоntoso.com with a Cyrillic о (U+043E).
    assert.deepEqual(await linkFindings('http://xn--cntoso-wqf.com/'), ['Phish.Lookalike']);
  });

  it('flags a host written in Unicode homoglyphs', async () => {
    // Greek omicrons (U+03BF) in place of every o; the URL parser turns the host into punycode.
    assert.deepEqual(await linkFindings('http://c\u03bfnt\u03bfs\u03bf.com/'), ['Phish.Lookalike']);
  });

  it('flags c0ntoso.com', async () => {
    assert.deepEqual(await linkFindings('http://c0ntoso.com/'), ['Phish.Lookalike']);
  });

  it('flags ASCII substitutions under another suffix', async () => {
    for (const host of ['contos0.net', 'cont0so.co.uk', 'c0nt0s0.org']) {
      assert.deepEqual(await linkFindings(`http://${host}/`), ['Phish.Lookalike'], host);
    }
  });

  it('flags one edit on the registrable label', async () => {
    for (const host of ['contosso.com', 'cntoso.com', 'cotnoso.com', 'contoso1.org']) {
      assert.deepEqual(await linkFindings(`http://${host}/`), ['Phish.Lookalike'], host);
    }
  });

  it('flags contoso.com.evil.example', async () => {
    assert.deepEqual(await linkFindings('http://contoso.com.evil.example/'), ['Phish.Lookalike']);
  });

  it('flags the organization label with a hyphenated affix', async () => {
    assert.deepEqual(await linkFindings('http://contoso-login.example/'), ['Phish.Lookalike']);
  });

  it('accepts the same label under another suffix', async () => {
    assert.deepEqual(await linkFindings('http://contoso.net/'), []);
  });

  it('accepts tenant subdomains of other services', async () => {
    assert.deepEqual(await linkFindings('https://contoso.sharepoint.com/sites/hr'), []);
  });

  it('accepts unrelated domains', async () => {
    for (const host of ['fabrikam.com', 'github.com', 'cnn.com', 'tosco.com']) {
      assert.deepEqual(await linkFindings(`https://${host}/`), [], host);
    }
  });

  it('skips edit distance for short organization labels', async () => {
    const engine = createEmbeddedAntiphishing({
      organizationDomains: ['ibm.com'],
      maxHtmlBytes: 1024,
    });
    const findings = await scan({ html: '<a href="http://ibn.com/">x</a>' }, engine);
    assert.deepEqual(findings, []);
  });

  it('flags a look-alike sender domain in From', async () => {
    const findings = await scan({ text: 'hello', from: '"Contoso IT" <it@c0ntoso.com>' });
    assert.deepEqual(signatures(findings), ['Phish.Lookalike']);
    assert.equal(findings[0]?.mimePath, '');
    assert.match(findings[0]?.reason ?? '', /From/);
  });

  it('flags a look-alike domain in Reply-To', async () => {
    const findings = await scan({
      text: 'hello',
      from: 'it@contoso.com',
      replyTo: 'it@xn--cntoso-wqf.com',
    });
    assert.deepEqual(signatures(findings), ['Phish.Lookalike']);
    assert.match(findings[0]?.reason ?? '', /Reply-To/);
  });

  it('flags a Unicode look-alike sender domain', async () => {
    const findings = await scan({ text: 'hello', from: 'it@c\u043entoso.com' });
    assert.deepEqual(signatures(findings), ['Phish.Lookalike']);
  });

  it('flags a sender domain again in a later message', async () => {
    const engine = makeEngine();
    const first = await scan({ text: 'hello', from: 'it@C0NTOSO.com' }, engine);
    const second = await scan({ text: 'hello', from: 'it@C0NTOSO.com' }, engine);
    assert.deepEqual(signatures(first), ['Phish.Lookalike']);
    assert.deepEqual(second, first);
  });

  it('accepts the real sender domain', async () => {
    assert.deepEqual(await scan({ text: 'hello', from: 'IT <it@mail.contoso.com>' }), []);
  });

  it('stays off without organization domains', async () => {
    const engine = createEmbeddedAntiphishing({ organizationDomains: [], maxHtmlBytes: 1024 });
    const findings = await scan({ html: '<a href="http://c0ntoso.com/">x</a>' }, engine);
    assert.deepEqual(findings, []);
  });
});

describe('Phish.AnchorMismatch', () => {
  it('flags link text that shows another domain', async () => {
    assert.deepEqual(await linkFindings('http://evil.example/login', 'www.contoso.com'), [
      'Phish.AnchorMismatch',
    ]);
  });

  it('flags link text that shows another URL', async () => {
    assert.deepEqual(
      await linkFindings('http://evil.example/', 'https://www.fabrikam.com/account'),
      ['Phish.AnchorMismatch'],
    );
  });

  it('accepts another host on the same registrable domain', async () => {
    assert.deepEqual(await linkFindings('http://mail.contoso.com/', 'www.contoso.com'), []);
  });

  it('accepts text that is not a domain', async () => {
    assert.deepEqual(await linkFindings('http://fabrikam.com/', 'Click here'), []);
  });

  it('accepts file names and email addresses as text', async () => {
    assert.deepEqual(await linkFindings('http://fabrikam.com/', 'README.md'), []);
    assert.deepEqual(await linkFindings('http://fabrikam.com/', 'support@contoso.com'), []);
  });

  it('accepts a target on the sender domain', async () => {
    const findings = await scan({
      html: '<a href="http://click.fabrikam.com/c?q=1">Tailspin.com</a>',
      from: 'News <news@fabrikam.com>',
    });
    assert.deepEqual(findings, []);
  });

  it('flags organization text from any sender', async () => {
    const findings = await scan({
      html: '<a href="http://fabrikam.com/c?q=1">www.contoso.com</a>',
      from: 'News <news@fabrikam.com>',
    });
    assert.deepEqual(signatures(findings), ['Phish.AnchorMismatch']);
  });

  it('accepts a redirect that carries the shown domain', async () => {
    const href = 'http://track.example/go?dest=http%3A%2F%2Fwww.tailspin.com%2Foffer';
    assert.deepEqual(await linkFindings(href, 'www.tailspin.com'), []);
  });
});

describe('Phish.IpLiteral', () => {
  it('flags a decimal IPv4 link', async () => {
    assert.deepEqual(await linkFindings('http://134744072/login'), ['Phish.IpLiteral']);
  });

  it('flags hex, octal and IPv6 links', async () => {
    for (const href of [
      'http://0x8.0x8.0x8.0x8/',
      'http://010.010.010.010/',
      'http://[2001:db8::1]/',
    ]) {
      assert.deepEqual(await linkFindings(href), ['Phish.IpLiteral'], href);
    }
  });

  it('flags a form posting to an IP literal', async () => {
    const findings = await scan({
      html: '<form action="http://203.0.113.9/p"><input name=q></form>',
    });
    assert.deepEqual(signatures(findings), ['Phish.IpLiteral']);
  });

  it('accepts private and loopback addresses', async () => {
    for (const href of [
      'http://192.168.1.1/',
      'http://127.0.0.1:8080/',
      'http://[::1]/',
      'http://10.1.2.3/',
    ]) {
      assert.deepEqual(await linkFindings(href), [], href);
    }
  });

  it('accepts IP images and plain-text URLs', async () => {
    const findings = await scan({
      html: '<img src="http://203.0.113.9/logo.gif">',
      text: 'cached at http://203.0.113.9/search',
    });
    assert.deepEqual(findings, []);
  });

  it('accepts host names', async () => {
    assert.deepEqual(await linkFindings('http://fabrikam.com/'), []);
  });
});

describe('Phish.PasswordFormOffsite', () => {
  const passwordForm = (action: string): string =>
    `<form${action}><input type="text" name="u"><input TYPE=" Password " name="p"></form>`;

  it('flags a password form posting off-site', async () => {
    const findings = await scan({
      html: passwordForm(' action="https://fabrikam.example/collect"'),
      from: 'it@contoso.com',
    });
    assert.deepEqual(signatures(findings), ['Phish.PasswordFormOffsite']);
    assert.equal(findings[0]?.mimePath, '2');
  });

  it('flags a password form without an action', async () => {
    const findings = await scan({ html: passwordForm(''), from: 'it@contoso.com' });
    assert.deepEqual(signatures(findings), ['Phish.PasswordFormOffsite']);
  });

  it('flags a relative action without base', async () => {
    const findings = await scan({ html: passwordForm(' action="/login"'), from: 'it@contoso.com' });
    assert.deepEqual(signatures(findings), ['Phish.PasswordFormOffsite']);
  });

  it('flags an external sender posting inward', async () => {
    const findings = await scan({
      html: passwordForm(' action="https://login.contoso.com/"'),
      from: 'it@fabrikam.example',
    });
    assert.deepEqual(signatures(findings), ['Phish.PasswordFormOffsite']);
  });

  it('accepts an internal form posting inward', async () => {
    const findings = await scan({
      html: passwordForm(' action="https://login.contoso.com/"'),
      from: 'IT <it@contoso.com>',
    });
    assert.deepEqual(findings, []);
  });

  it('accepts a form without a password field', async () => {
    const findings = await scan({
      html: '<form action="https://fabrikam.example/s"><input type="search"></form>',
    });
    assert.deepEqual(findings, []);
  });

  it('flags a password form left unclosed', async () => {
    const findings = await scan({
      html: '<form action="https://x.example/"><input type=password>',
    });
    assert.deepEqual(signatures(findings), ['Phish.PasswordFormOffsite']);
  });
});

describe('Phish.UrlFeed', () => {
  const feed = '# test feed\nbad.example\nhttps://host.example/kit/login\n';

  it('flags a feed domain', async () => {
    const findings = await scan({ text: 'see http://bad.example/x' }, makeEngine(feed));
    assert.deepEqual(signatures(findings), ['Phish.UrlFeed']);
    assert.equal(findings[0]?.mimePath, '1');
  });

  it('flags a subdomain of a feed domain', async () => {
    const findings = await scan({ text: 'see http://a.b.bad.example/' }, makeEngine(feed));
    assert.deepEqual(signatures(findings), ['Phish.UrlFeed']);
  });

  it('flags a feed URL after normalization', async () => {
    const findings = await scan(
      { html: '<a href="HTTPS://Host.Example:443/kit/login/?id=7#top">Log in</a>' },
      makeEngine(feed),
    );
    assert.deepEqual(signatures(findings), ['Phish.UrlFeed']);
  });

  it('accepts other paths on a feed URL host', async () => {
    const findings = await scan({ text: 'https://host.example/news' }, makeEngine(feed));
    assert.deepEqual(findings, []);
  });

  it('accepts a parent of a feed domain', async () => {
    const findings = await scan({ text: 'see http://example/' }, makeEngine(feed));
    assert.deepEqual(findings, []);
  });

  it('flags a sender domain listed in the feed', async () => {
    const findings = await scan({ text: 'hi', from: 'x@mail.bad.example' }, makeEngine(feed));
    assert.deepEqual(signatures(findings), ['Phish.UrlFeed']);
  });
});

describe('embedded-phish reporting', () => {
  it('reports each URL once per signature', async () => {
    const html = '<a href="http://c0ntoso.com/">a</a><a href="http://c0ntoso.com/">b</a>';
    const findings = await scan({ html, text: 'http://c0ntoso.com/' });
    assert.deepEqual(signatures(findings), ['Phish.Lookalike']);
  });

  it('caps findings per signature', async () => {
    let html = '';
    for (let index = 0; index < 50; index += 1) {
      html += `<a href="http://203.0.113.${index}/">x</a>`;
    }
    const findings = await scan({ html });
    assert.equal(findings.length, MAX_FINDINGS_PER_SIGNATURE);
  });

  it('reports several signatures for one link', async () => {
    const findings = await scan(
      { html: '<a href="http://c0ntoso.com/">www.contoso.com</a>' },
      makeEngine('c0ntoso.com\n'),
    );
    assert.deepEqual(signatures(findings).sort(), [
      'Phish.AnchorMismatch',
      'Phish.Lookalike',
      'Phish.UrlFeed',
    ]);
  });

  it('reports a passed deadline as unscannable', async () => {
    const expired: Deadline = { expiresAt: 0, expired: () => true };
    const result = await makeEngine().scan(
      makeView({ html: '<a href="http://c0ntoso.com/">x</a>' }),
      expired,
    );
    assert.deepEqual(signatures(result.findings), ['limit.scan-timeout']);
    assert.equal(result.findings[0]?.category, 'unscannable');
  });

  it('reports a body cut at maxHtmlBytes', async () => {
    const engine = createEmbeddedAntiphishing({ organizationDomains: [], maxHtmlBytes: 64 });
    const html = `<p>${'x'.repeat(100)}</p><a href="http://203.0.113.1/">x</a>`;
    const result = await engine.scan(makeView({ html }), NO_DEADLINE);
    assert.deepEqual(signatures(result.findings), ['limit.html-bytes']);
    assert.equal(result.findings[0]?.category, 'unscannable');
    assert.equal(result.findings[0]?.mimePath, '2');
  });
});
