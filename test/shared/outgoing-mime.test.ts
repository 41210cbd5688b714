import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import PostalMime from 'postal-mime';

import { toOutgoingMime } from '../../src/shared/outgoing-mime.js';

const DATE = new Date('2026-01-01T00:00:00Z');

describe('toOutgoingMime', () => {
  it('builds multipart/alternative with both bodies', async () => {
    const mime = await toOutgoingMime(
      { to: ['adele@contoso.com'], subject: 'Quarantäne', html: '<p>hi ü</p>', text: 'hi ü' },
      'digest@contoso.com',
      DATE,
    );
    const raw = mime.toString('latin1');
    assert.match(raw, /^From: mailsweep <digest@contoso\.com>\r$/m);
    assert.match(raw, /^To: adele@contoso\.com\r$/m);
    assert.match(raw, /^Subject: =\?UTF-8\?Q\?Quarant=C3=A4ne\?=\r$/m);
    assert.match(raw, /^Date: Thu, 01 Jan 2026 00:00:00 \+0000\r$/m);
    assert.match(raw, /^Message-ID: <[^@\s]+@contoso\.com>\r$/m);
    assert.match(raw, /^MIME-Version: 1\.0\r$/m);
    assert.match(raw, /^Auto-Submitted: auto-generated\r$/m);
    assert.match(raw, /^Content-Type: multipart\/alternative;/m);
    assert.match(raw, /^Content-Type: text\/plain; charset=utf-8\r$/m);
    assert.match(raw, /^Content-Type: text\/html; charset=utf-8\r$/m);
    assert.doesNotMatch(raw.replace(/\r\n/g, ''), /[\r\n]/, 'every line ends in CRLF');

    const parsed = await PostalMime.parse(mime);
    assert.equal(parsed.subject, 'Quarantäne');
    assert.equal(parsed.text?.trim(), 'hi ü');
    assert.equal(parsed.html?.trim(), '<p>hi ü</p>');
  });

  it('keeps a line break in the subject out of the headers', async () => {
    const mime = await toOutgoingMime(
      { to: ['adele@contoso.com'], subject: 'Digest\r\nBcc: eve@fabrikam.com', html: '<p>x</p>' },
      'digest@contoso.com',
      DATE,
    );
    const parsed = await PostalMime.parse(mime);
    assert.equal(parsed.bcc, undefined);
    assert.doesNotMatch(mime.toString('latin1'), /^Bcc:/im);
  });

  it('lists every recipient in To', async () => {
    const mime = await toOutgoingMime(
      { to: ['admin@contoso.com', 'sec@contoso.com'], subject: 'Summary', html: '<p>x</p>' },
      'digest@contoso.com',
    );
    const parsed = await PostalMime.parse(mime);
    assert.deepEqual(
      parsed.to?.map((entry) => entry.address),
      ['admin@contoso.com', 'sec@contoso.com'],
    );
  });

  it('rejects addresses that could add recipients', async () => {
    const hostile = [
      'a@contoso.com, eve@fabrikam.com',
      'Eve <eve@fabrikam.com>',
      'a@contoso.com\r\nBcc: eve@fabrikam.com',
      'no-at-sign',
      'two@at@signs.com',
    ];
    for (const address of hostile) {
      await assert.rejects(
        toOutgoingMime({ to: [address], subject: 's', html: '<p>x</p>' }, 'digest@contoso.com'),
        { code: 'input-unreadable' },
        JSON.stringify(address),
      );
    }
    await assert.rejects(
      toOutgoingMime({ to: [], subject: 's', html: '<p>x</p>' }, 'digest@contoso.com'),
      { code: 'input-unreadable' },
    );
    await assert.rejects(
      toOutgoingMime({ to: ['a@contoso.com'], subject: 's', html: '<p>x</p>' }, 'x, y@contoso.com'),
      { code: 'input-unreadable' },
    );
  });
});
