import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
  buildAdminSummary,
  buildRecipientDigest,
  itemLink,
  MAX_DIGEST_ITEMS,
} from '../../src/digests/digest-content.js';
import { MAX_GRAPH_MIME_SEND_BYTES } from '../../src/graph/graph-client.js';
import type { QuarantineSummary } from '../../src/quarantine/quarantine-index.js';
import { toOutgoingMime } from '../../src/shared/outgoing-mime.js';

function summary(index: number, overrides: Partial<QuarantineSummary> = {}): QuarantineSummary {
  return {
    id: index.toString(16).padStart(32, '0'),
    mailbox: 'adele@contoso.com',
    sender: 'sender@fabrikam.com',
    subject: `Subject ${index}`,
    category: 'spam',
    signatures: [],
    receivedAt: '2026-01-02T03:04:05.000Z',
    quarantinedAt: '2026-01-02T03:04:06.000Z',
    expiresAt: '2026-02-01T00:00:00.000Z',
    size: 100,
    ...overrides,
  };
}

describe('buildRecipientDigest', () => {
  it('escapes sender and subject in HTML', () => {
    const mail = buildRecipientDigest(
      {
        recipient: 'adele@contoso.com',
        items: [summary(1, { subject: '<script>alert(1)</script>', sender: '"x" <a@b.c>' })],
        moreCount: 0,
      },
      'https://mailsweep.contoso.com',
    );
    assert.ok(!mail.html.includes('<script>'));
    assert.match(mail.html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(mail.html, /&quot;x&quot; &lt;a@b\.c&gt;/);
    assert.match(mail.text ?? '', /Subject: <script>alert\(1\)<\/script>/);
  });

  it('links each item without credentials', () => {
    const mail = buildRecipientDigest(
      { recipient: 'adele@contoso.com', items: [summary(7)], moreCount: 0 },
      'https://mailsweep.contoso.com/',
    );
    const link = itemLink('https://mailsweep.contoso.com', summary(7).id);
    assert.equal(link, `https://mailsweep.contoso.com/api/ui/?item=${summary(7).id}`);
    assert.ok(mail.html.includes(`href="${link}"`));
    assert.ok((mail.text ?? '').includes(link));
    assert.doesNotMatch(mail.html, /token|code=|sig=/i);
  });

  it('says how many more items there are', () => {
    const items = Array.from({ length: MAX_DIGEST_ITEMS }, (_, index) => summary(index));
    const mail = buildRecipientDigest({ recipient: 'adele@contoso.com', items, moreCount: 12 }, 'https://m.contoso.com');
    assert.match(mail.subject, /62 new messages/);
    assert.match(mail.text ?? '', /12 more messages are not listed/);
    assert.equal(mail.html.match(/<tr><td>/g)?.length, MAX_DIGEST_ITEMS);
  });

  it('drops control characters from subjects', () => {
    const mail = buildRecipientDigest(
      { recipient: 'adele@contoso.com', items: [summary(1, { subject: 'a\r\nBcc: x@y.z' })], moreCount: 0 },
      'https://m.contoso.com',
    );
    assert.match(mail.text ?? '', /Subject: a {2}Bcc: x@y\.z/);
  });
});

describe('buildAdminSummary', () => {
  it('totals categories across mailboxes', () => {
    const mail = buildAdminSummary(
      ['admin@contoso.com'],
      [
        { mailbox: 'a@contoso.com', total: 3, byCategory: { spam: 2, malware: 1 } },
        { mailbox: 'b@contoso.com', total: 1, byCategory: { spam: 1 } },
      ],
      new Date('2026-01-01T00:00:00Z'),
      'https://m.contoso.com',
    );
    assert.deepEqual(mail.to, ['admin@contoso.com']);
    assert.match(mail.subject, /4 new messages in 2 mailboxes/);
    assert.match(mail.text ?? '', /spam: 3/);
    assert.match(mail.text ?? '', /a@contoso\.com: 3 \(malware 1, spam 2\)/);
  });
});

describe('digest MIME size', () => {
  it('keeps a full digest far below the sendMail limit', async () => {
    // The longest values the digest keeps: 200 UTF-16 units of a three-byte character that
    // quoted-printable writes as nine bytes, plus ampersands that HTML escaping lengthens.
    const long = `${'\u20ac'.repeat(150)}${'&'.repeat(50)}`;
    const items = Array.from({ length: MAX_DIGEST_ITEMS }, (_, i) =>
      summary(i, { sender: long, subject: long }),
    );
    const mail = buildRecipientDigest(
      { recipient: 'adele@contoso.com', items, moreCount: 1_000 },
      'https://mailsweep.contoso.com',
    );
    const mime = await toOutgoingMime(mail, 'digest@contoso.com');
    const base64Bytes = mime.toString('base64').length;
    assert.ok(
      base64Bytes < MAX_GRAPH_MIME_SEND_BYTES / 4,
      `${base64Bytes} bytes of base64 is not below a quarter of ${MAX_GRAPH_MIME_SEND_BYTES}`,
    );
  });
});
