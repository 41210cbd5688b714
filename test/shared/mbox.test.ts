import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { looksLikeMbox, splitMbox } from '../../src/shared/mbox.js';

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

  it('strips the separator of a single message, so that only the message is kept', () => {
    const single = bytes('From a@b.c Thu Dec  3 09:15:00 2026\nSubject: x\n\nbody\n');
    assert.equal(looksLikeMbox(single), true);
    assert.deepEqual(splitMbox(single).map(text), ['Subject: x\n\nbody\n']);
    assert.equal(looksLikeMbox(bytes('Subject: x\n\nFrom a@b.c Thu Dec  3 09:15:00 2026\n')), false);
    assert.equal(looksLikeMbox(bytes(mbox)), true);
  });

  for (const separator of ['From ', 'From bob@example.com 2026-12-04T10:01:00Z', 'From MAILER-DAEMON']) {
    it(`splits at a separator without a proper date: ${JSON.stringify(separator)}`, () => {
      // The second message would otherwise hide in the first one's epilogue, never scanned.
      const data = [mbox, separator, 'Received: from x', 'Subject: three', '', 'third body', ''].join('\n');
      const messages = splitMbox(bytes(data)).map(text);
      assert.equal(messages.length, 3);
      assert.ok(messages[2]?.startsWith('Received: from x\nSubject: three'));
    });
  }

  it('removes the empty line the writer adds after each message', () => {
    const messages = splitMbox(bytes(mbox)).map(text);
    assert.equal(messages[0], 'Subject: one\n\nfirst body\nFrom the archive, quoted\n');
    assert.equal(messages[1], 'Subject: two\n\nFrom here on, an unquoted body line\n');
  });

  it('removes the empty line after a CRLF message', () => {
    const data = 'From a@b.c Thu Dec  3 09:15:00 2026\r\nSubject: x\r\n\r\nbody\r\n\r\n';
    assert.deepEqual(splitMbox(bytes(data)).map(text), ['Subject: x\r\n\r\nbody\r\n']);
  });

  it('keeps a last message that ends without an empty line', () => {
    const data = 'From a@b.c Thu Dec  3 09:15:00 2026\nSubject: x\n\nbody\n';
    assert.deepEqual(splitMbox(bytes(data)).map(text), ['Subject: x\n\nbody\n']);
  });

  it('round-trips a message that itself ends with an empty line', () => {
    // Written per RFC 4155: the message, then the empty line that ends it in the mbox.
    const message = 'Subject: x\n\nbody\n\n';
    const data = `From a@b.c Thu Dec  3 09:15:00 2026\n${message}\n`;
    assert.deepEqual(splitMbox(bytes(data)).map(text), [message]);
  });

  it('returns no messages for an empty file', () => {
    assert.deepEqual(splitMbox(new Uint8Array(0)), []);
    assert.equal(looksLikeMbox(new Uint8Array(0)), false);
  });
});
