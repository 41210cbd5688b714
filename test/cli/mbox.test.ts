import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { looksLikeMbox, splitMbox } from '../../src/cli/mbox.js';

const bytes = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));
const text = (data: Uint8Array) => Buffer.from(data).toString('latin1');

describe('mbox', () => {
  const mbox = [
    'From alice@example.org Thu Dec  3 09:15:00 2026',
    'Subject: one',
    '',
    'first body',
    '>From the archive, quoted',
    '',
    'From bob@example.org Fri Dec  4 10:00:00 2026',
    'Subject: two',
    '',
    'From here on, an unquoted body line',
    '',
  ].join('\n');

  it('splits messages at From_ lines', () => {
    const messages = splitMbox(bytes(mbox));
    assert.equal(messages.length, 2);
    assert.ok(text(messages[0] as Uint8Array).startsWith('Subject: one'));
    assert.ok(text(messages[1] as Uint8Array).startsWith('Subject: two'));
  });

  it('removes one level of >From quoting', () => {
    const first = text(splitMbox(bytes(mbox))[0] as Uint8Array);
    assert.ok(first.includes('\nFrom the archive, quoted'));
  });

  it('does not split at a body line without a date', () => {
    const second = text(splitMbox(bytes(mbox))[1] as Uint8Array);
    assert.ok(second.includes('From here on, an unquoted body line'));
  });

  it('treats a single message with a From_ line as one message', () => {
    assert.equal(looksLikeMbox(bytes('From a@b.c Thu Dec  3 09:15:00 2026\nSubject: x\n\nbody\n')), false);
    assert.equal(looksLikeMbox(bytes(mbox)), true);
  });
});
