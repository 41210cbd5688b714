import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import {
  normalizeMailbox,
  parseQuarantineId,
  toQuarantineId,
} from '../../src/quarantine/quarantine-id.js';
import { ScannerError } from '../../src/shared/errors.js';

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

describe('toQuarantineId', () => {
  it('returns 32 lowercase hex characters', () => {
    assert.match(toQuarantineId('a@contoso.com', sha256('x')), /^[0-9a-f]{32}$/);
  });

  it('hashes mailbox, NUL and digest', () => {
    const digest = sha256('message');
    const expected = sha256(`a@contoso.com\0${digest}`).slice(0, 32);

    assert.equal(toQuarantineId('a@contoso.com', digest), expected);
  });

  it('ignores mailbox case and spaces', () => {
    const digest = sha256('message');

    assert.equal(
      toQuarantineId(' A@Contoso.COM ', digest),
      toQuarantineId('a@contoso.com', digest),
    );
    assert.equal(normalizeMailbox(undefined), '');
  });

  it('differs by mailbox and by content', () => {
    const digest = sha256('message');

    assert.notEqual(
      toQuarantineId('a@contoso.com', digest),
      toQuarantineId('b@contoso.com', digest),
    );
    assert.notEqual(toQuarantineId(undefined, digest), toQuarantineId('a@contoso.com', digest));
    assert.notEqual(
      toQuarantineId('a@contoso.com', digest),
      toQuarantineId('a@contoso.com', sha256('other')),
    );
  });
});

describe('parseQuarantineId', () => {
  it('accepts a derived id', () => {
    const id = toQuarantineId('a@contoso.com', sha256('x'));

    assert.equal(parseQuarantineId(id), id);
  });

  const invalid: unknown[] = [
    '../x',
    'a/b',
    'a\\b',
    '%2e%2e',
    `${'a'.repeat(31)}\0`,
    'a'.repeat(33),
    'A'.repeat(32),
    `${'a'.repeat(31)}\n`,
    `${'a'.repeat(32)}\n`,
    '',
    undefined,
    42,
  ];
  for (const value of invalid) {
    it(`rejects ${JSON.stringify(value) ?? 'undefined'}`, () => {
      assert.throws(
        () => parseQuarantineId(value),
        (error: unknown) =>
          error instanceof ScannerError &&
          error.code === 'quarantine-not-found' &&
          error.fields.reason === 'invalid-id',
      );
    });
  }
});
