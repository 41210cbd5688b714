import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { findDisplayedHost } from '../../../src/scanning/antiphishing/anchor-text.js';
import { describeHost, isNonRoutableIp } from '../../../src/scanning/antiphishing/hosts.js';
import {
  createLookalikeMatcher,
  isOneEditApart,
} from '../../../src/scanning/antiphishing/lookalike.js';
import {
  foldAsciiLookalikes,
  toLatinSkeleton,
} from '../../../src/scanning/antiphishing/skeleton.js';

describe('toLatinSkeleton', () => {
  it('maps Cyrillic and Greek homoglyphs to Latin', () => {
    assert.equal(toLatinSkeleton('\u0441\u043entoso'), 'contoso');
    assert.equal(toLatinSkeleton('c\u03bfnt\u03bfs\u03bf'), 'contoso');
    assert.equal(toLatinSkeleton('\u0440\u0430\u0443\u0440\u0430l'), 'paypal');
  });

  it('drops diacritics', () => {
    assert.equal(toLatinSkeleton('c\u00f6nt\u00f4so'), 'contoso');
  });

  it('leaves ASCII labels in lower case', () => {
    assert.equal(toLatinSkeleton('C0ntoso'), 'c0ntoso');
  });
});

describe('foldAsciiLookalikes', () => {
  it('folds digits and letter pairs to one form', () => {
    assert.equal(foldAsciiLookalikes('c0nt0s0'), foldAsciiLookalikes('contoso'));
    assert.equal(foldAsciiLookalikes('rnicrosoft'), foldAsciiLookalikes('microsoft'));
    assert.equal(foldAsciiLookalikes('vvoodgrove'), foldAsciiLookalikes('woodgrove'));
    assert.equal(foldAsciiLookalikes('paypa1'), foldAsciiLookalikes('paypal'));
    assert.equal(foldAsciiLookalikes('gmaii'), foldAsciiLookalikes('gmail'));
  });

  it('keeps different words apart', () => {
    assert.notEqual(foldAsciiLookalikes('contoso'), foldAsciiLookalikes('fabrikam'));
  });
});

describe('isOneEditApart', () => {
  it('accepts one insertion, deletion, substitution or swap', () => {
    assert.equal(isOneEditApart('contoso', 'contosso'), true);
    assert.equal(isOneEditApart('contoso', 'cntoso'), true);
    assert.equal(isOneEditApart('contoso', 'contaso'), true);
    assert.equal(isOneEditApart('contoso', 'cnotoso'), true);
  });

  it('rejects equal strings and two edits', () => {
    assert.equal(isOneEditApart('contoso', 'contoso'), false);
    assert.equal(isOneEditApart('contoso', 'cantasa'), false);
    assert.equal(isOneEditApart('contoso', 'contosooo'), false);
    assert.equal(isOneEditApart('abcd', 'badc'), false);
  });
});

describe('createLookalikeMatcher', () => {
  const matcher = createLookalikeMatcher(['contoso.com', 'Fabrikam.co.uk.']);
  const kindOf = (host: string): string | undefined => matcher.match(describeHost(host))?.kind;

  it('recognizes organization hosts', () => {
    assert.equal(matcher.isOrganizationHost('contoso.com'), true);
    assert.equal(matcher.isOrganizationHost('A.Fabrikam.co.uk.'), true);
    assert.equal(matcher.isOrganizationHost('notcontoso.com'), false);
  });

  it('names the kind of imitation', () => {
    assert.equal(kindOf('xn--cntoso-wqf.com'), 'homoglyph');
    assert.equal(kindOf('c0ntoso.com'), 'character-substitution');
    assert.equal(kindOf('contosso.com'), 'edit-distance');
    assert.equal(kindOf('contoso-secure.net'), 'hyphenated');
    assert.equal(kindOf('contoso.com.evil.example'), 'embedded');
    assert.equal(kindOf('www.contoso-com.evil.example'), 'embedded');
    assert.equal(kindOf('fabrikarn.co.uk'), 'character-substitution');
  });

  it('names the imitated organization domain', () => {
    assert.equal(matcher.match(describeHost('fabrlkam.com'))?.organizationDomain, 'fabrikam.co.uk');
  });

  it('accepts real, unrelated and same-label hosts', () => {
    for (const host of [
      'contoso.com',
      'www.contoso.com',
      'contoso.org',
      'contoso.azurewebsites.net',
      'example.com',
      '192.0.2.1',
    ]) {
      assert.equal(kindOf(host), undefined, host);
    }
  });
});

describe('findDisplayedHost', () => {
  it('reads domains and URLs shown as text', () => {
    assert.equal(findDisplayedHost('www.Contoso.com'), 'www.contoso.com');
    assert.equal(findDisplayedHost('(contoso.com)'), 'contoso.com');
    assert.equal(findDisplayedHost('https://login.contoso.com/x'), 'login.contoso.com');
    assert.equal(findDisplayedHost('Log in at https://login.contoso.com now'), 'login.contoso.com');
    assert.equal(findDisplayedHost('c\u043entoso.com'), 'xn--cntoso-wqf.com');
  });

  it('ignores text that shows no host', () => {
    for (const text of ['Click here', '', 'user@contoso.com', 'setup.py', 'notes.txt', 'v1.2.3']) {
      assert.equal(findDisplayedHost(text), undefined, text);
    }
  });
});

describe('isNonRoutableIp', () => {
  it('recognizes private, loopback and link-local addresses', () => {
    for (const host of [
      '10.0.0.1',
      '127.0.0.1',
      '172.16.5.4',
      '192.168.0.1',
      '169.254.1.1',
      '[::1]',
      '[fe80::1]',
      '[fd00::1]',
      '[::ffff:a00:1]',
    ]) {
      assert.equal(isNonRoutableIp(host), true, host);
    }
  });

  it('rejects public addresses', () => {
    for (const host of [
      '8.8.8.8',
      '172.32.0.1',
      '[2001:db8::1]',
      '[::ffff:808:808]',
      'contoso.com',
    ]) {
      assert.equal(isNonRoutableIp(host), false, host);
    }
  });
});
