import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadSettings } from '../../src/config/settings.js';
import { createDeadline } from '../../src/scanning/deadline.js';
import { extractMessage } from '../../src/scanning/extract.js';
import { BASE_HEADERS, base64Lines, crlf, toBytes } from '../fixtures/hostile-mail.js';

const { limits } = loadSettings({});

async function extract(text: string) {
  return extractMessage(toBytes(text), limits, createDeadline(limits.scanTimeoutMs));
}

const NESTED = crlf([
  ...BASE_HEADERS,
  'Subject: =?utf-8?q?caf=C3=A9?=',
  'Content-Type: multipart/mixed; boundary="o"',
  '',
  '--o',
  'Content-Type: multipart/alternative; boundary="a"',
  '',
  '--a',
  'Content-Type: text/plain',
  '',
  'plain',
  '--a',
  'Content-Type: text/html',
  '',
  '<p>html</p>',
  '--a--',
  '--o',
  'Content-Type: message/rfc822',
  'Content-Disposition: attachment',
  '',
  'Subject: inner',
  'Message-ID: <inner@example.org>',
  'Content-Type: multipart/mixed; boundary="i"',
  '',
  '--i',
  'Content-Type: text/plain',
  '',
  'inner text',
  '--i',
  'Content-Type: image/png; name="logo.png"',
  'Content-Transfer-Encoding: base64',
  '',
  base64Lines(Buffer.from([0x89, 0x50, 0x4e, 0x47])),
  '--i--',
  '--o--',
  '',
]);

describe('extractMessage', () => {
  it('numbers parts like IMAP and enters nested messages with a slash', async () => {
    const { view } = await extract(NESTED);
    assert.deepEqual(
      view.parts.map((part) => part.path),
      ['1.1', '1.2', '2/1', '2/2'],
    );
  });

  it('collects text and HTML bodies of every level', async () => {
    const { view } = await extract(NESTED);
    assert.deepEqual(
      view.bodies.map((body) => [body.path, body.type, body.text.trim()]),
      [
        ['1.1', 'plain', 'plain'],
        ['1.2', 'html', '<p>html</p>'],
        ['2/1', 'plain', 'inner text'],
      ],
    );
  });

  it('records nested message headers and decodes the subject', async () => {
    const { view } = await extract(NESTED);
    assert.equal(view.subject, 'café');
    assert.equal(view.nestedMessages.length, 1);
    assert.equal(view.nestedMessages[0]?.path, '2');
    const messageId = view.nestedMessages[0]?.headers.find((field) => field.key === 'message-id');
    assert.equal(messageId?.value, '<inner@example.org>');
  });

  it('keeps the decoded bytes and filename of a part', async () => {
    const { view } = await extract(NESTED);
    const logo = view.parts.find((part) => part.path === '2/2');
    assert.equal(logo?.filename, 'logo.png');
    assert.equal(logo?.contentType, 'image/png');
    assert.deepEqual([...(logo?.content ?? [])], [0x89, 0x50, 0x4e, 0x47]);
  });

  it('numbers a single-part message as part 1', async () => {
    const { view } = await extract(crlf([...BASE_HEADERS, 'Subject: one', '', 'text']));
    assert.deepEqual(view.parts.map((part) => part.path), ['1']);
    assert.equal(view.complete, true);
  });

  it('skips an mbox From_ line before the headers', async () => {
    const { view, budget } = await extract(`From someone@example.org Thu Dec  3 09:15:00 2026\n${crlf([...BASE_HEADERS, 'Subject: mbox', '', 'text'])}`);
    assert.equal(view.subject, 'mbox');
    assert.deepEqual(budget.findings, []);
  });

  it('keeps the raw filename next to the decoded one', async () => {
    const text = crlf([
      ...BASE_HEADERS,
      'Content-Type: application/octet-stream; name="=?utf-8?B?cmVwb3J0LmV4ZQ==?="',
      'Content-Transfer-Encoding: base64',
      '',
      'AAAA',
    ]);
    const { view } = await extract(text);
    assert.equal(view.parts[0]?.filename, 'report.exe');
    assert.equal(view.parts[0]?.rawFilename, '=?utf-8?B?cmVwb3J0LmV4ZQ==?=');
  });
});

describe('extractMessage context', () => {
  it('passes the scan context to the view', async () => {
    const receivedAt = new Date('2026-12-03T09:15:00Z');
    const context = { mailbox: 'megan@contoso.com', folder: 'Inbox', messageId: 'AAMk1', receivedAt };
    const { view } = await extractMessage(
      toBytes(crlf([...BASE_HEADERS, 'Subject: one', '', 'text'])),
      limits,
      createDeadline(limits.scanTimeoutMs),
      context,
    );
    assert.deepEqual(view.context, context);
  });
});
