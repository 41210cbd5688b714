import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { emitStructureTokens } from '../../../src/scanning/antispam/structure-tokens.js';
import type { HeaderField } from '../../../src/scanning/types.js';

const TOP_RECEIVED =
  'from relay.example.net (relay.example.net [203.0.113.9]) by mx.example.org (Postfix) ' +
  'with ESMTP id 1234ABC; Tue, 6 Aug 2002 11:51:02 +0100';

function structureTokens(headers: [string, string][]): string[] {
  const tokens: string[] = [];
  const fields: HeaderField[] = headers.map(([key, value]) => ({ key, value }));
  emitStructureTokens(fields, (prefix, value) => tokens.push(prefix + (value ?? '')));
  return tokens;
}

describe('emitStructureTokens', () => {
  it('compares the Message-ID domain with the From domain', () => {
    const same = structureTokens([
      ['from', 'Ann <ann@mail.example.com>'],
      ['message-id', '<123.456@smtp.example.com>'],
    ]);
    assert.deepEqual(same, ['meta:msgid=from']);
    const other = structureTokens([
      ['from', 'ann@example.com'],
      ['message-id', '<abc@bulk-sender.example.net>'],
    ]);
    assert.deepEqual(other, ['meta:msgid!=from']);
  });

  it('treats a country-code second level as part of the domain', () => {
    const tokens = structureTokens([
      ['from', 'ann@shop.example.co.uk'],
      ['message-id', '<1@other.co.uk>'],
    ]);
    assert.deepEqual(tokens, ['meta:msgid!=from']);
  });

  it('flags a Date in the future of its arrival', () => {
    const tokens = structureTokens([
      ['received', TOP_RECEIVED],
      ['date', 'Wed, 7 Aug 2002 11:51:02 +0100'],
    ]);
    assert.ok(tokens.includes('meta:date-future'));
    assert.ok(!tokens.includes('meta:date-week-old'));
  });

  it('flags a Date more than a week before arrival', () => {
    const tokens = structureTokens([
      ['received', TOP_RECEIVED],
      ['date', 'Fri, 02 Jan 1998 04:30:44 -0400'],
    ]);
    assert.ok(tokens.includes('meta:date-week-old'));
  });

  it('accepts a Date an hour before arrival', () => {
    const tokens = structureTokens([
      ['received', TOP_RECEIVED],
      ['date', 'Tue, 6 Aug 2002 10:51:02 +0100'],
    ]);
    assert.deepEqual(tokens, ['meta:helo=rdns']);
  });

  it('flags unusual Date formats', () => {
    const cases = [
      ['6 Aug 2002 11:51:02 +0100', 'meta:date-no-weekday'],
      ['Tue, 6 Aug 2002 11:51:02', 'meta:date-no-zone'],
      ['Tue, 6 Aug 2002 11:51:02 +0117', 'meta:date-odd-zone'],
      ['Tue, 6 Aug 2002 11:51:02 EST', 'meta:date-named-zone'],
      ['Tue, 6 Aug 02 11:51:02 +0100', 'meta:date-two-digit-year'],
      ['not a date at all', 'meta:date-invalid'],
    ];
    for (const [date, token] of cases) {
      assert.ok(structureTokens([['date', date]]).includes(token), date);
    }
    assert.deepEqual(structureTokens([['date', 'Tue, 6 Aug 2002 11:51:02 +0530']]), []);
  });

  it('flags relays without a confirmed host name', () => {
    const tokens = structureTokens([
      ['received', 'from cccp.co.kr (unknown [211.218.149.105]) by mx.example.org'],
      ['received', 'from [10.0.0.5] by relay.example.net with SMTP'],
      ['received', 'from mail.example.com (host9.other.example.net [198.51.100.9]) by x'],
    ]);
    assert.ok(tokens.includes('meta:received-unknown-rdns'));
    assert.ok(tokens.includes('meta:received-helo-ip'));
    assert.ok(tokens.includes('meta:helo!=rdns'));
  });

  it('emits nothing for missing or malformed fields', () => {
    assert.deepEqual(structureTokens([]), []);
    assert.deepEqual(structureTokens([['from', 'no address here'], ['message-id', '<@>']]), []);
  });
});
