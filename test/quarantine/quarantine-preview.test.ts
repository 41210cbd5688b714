import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { loadSettings } from '../../src/config/settings.js';
import {
  buildPreview,
  htmlToText,
  MAX_PREVIEW_BODY_CHARS,
  MAX_PREVIEW_HEADERS,
} from '../../src/quarantine/quarantine-preview.js';
import { finding } from './quarantine-test-support.js';

const limits = loadSettings({}).limits;

/** Builds a PE image header: "MZ", and e_lfanew at 0x3c pointing to "PE\0\0" at 0x80. */
function peImage(): Buffer {
  const image = Buffer.alloc(512);
  image.write('MZ', 0, 'latin1');
  image.writeUInt32LE(0x80, 0x3c);
  image.write('PE\0\0', 0x80, 'latin1');
  return image;
}

function multipart(parts: string[]): Buffer {
  const boundary = 'b1';
  const body = parts.map((part) => `--${boundary}\r\n${part}\r\n`).join('') + `--${boundary}--\r\n`;
  return Buffer.from(
    'From: sender@fabrikam.com\r\nTo: user@contoso.com\r\nSubject: Invoice\r\n' +
      `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n${body}`,
  );
}

describe('buildPreview', () => {
  it('lists attachments with declared and detected types', async () => {
    const raw = multipart([
      'Content-Type: text/plain\r\n\r\nPlease see the invoice.',
      'Content-Type: application/pdf; name="invoice.pdf"\r\nContent-Disposition: attachment; ' +
        `filename="invoice.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${peImage().toString('base64')}`,
    ]);

    const preview = await buildPreview(raw, [finding('malware', 'Disguised.Executable', '2')], limits);

    assert.equal(preview.bodyKind, 'plain');
    assert.equal(preview.body.trim(), 'Please see the invoice.');
    assert.equal(preview.attachments.length, 1);
    const [attachment] = preview.attachments;
    assert.equal(attachment?.filename, 'invoice.pdf');
    assert.equal(attachment?.declaredType, 'application/pdf');
    assert.equal(attachment?.detectedExtension, 'exe');
    assert.deepEqual(attachment?.findings, ['Disguised.Executable']);
  });

  it('returns the text of an HTML-only body without markup or scripts', async () => {
    const html =
      '<html><head><title>t</title><style>p{}</style></head><body><p>Dear user,</p>' +
      '<script>alert(1)</script><p>Click <a href="http://example.test/">here</a> &amp; log in</p>' +
      '<img src="x" onerror="alert(2)"></body></html>';
    const raw = Buffer.from(
      'From: a@fabrikam.com\r\nSubject: Login\r\nMIME-Version: 1.0\r\n' +
        `Content-Type: text/html; charset=utf-8\r\n\r\n${html}`,
    );

    const preview = await buildPreview(raw, [], limits);

    assert.equal(preview.bodyKind, 'html-text');
    assert.match(preview.body, /Dear user,/);
    assert.match(preview.body, /Click here & log in/);
    assert.doesNotMatch(preview.body, /alert|<|onerror|p\{\}/);
  });

  it('bounds the body and the headers', async () => {
    const headers = Array.from({ length: MAX_PREVIEW_HEADERS + 50 }, (_, i) => `X-H${i}: v`).join('\r\n');
    const raw = Buffer.from(`${headers}\r\nSubject: big\r\n\r\n${'a'.repeat(MAX_PREVIEW_BODY_CHARS + 10)}`);

    const preview = await buildPreview(raw, [], limits);

    assert.equal(preview.headers.length, MAX_PREVIEW_HEADERS);
    assert.equal(preview.body.length, MAX_PREVIEW_BODY_CHARS);
    assert.equal(preview.bodyTruncated, true);
  });

  it('returns a preview for bytes that are not MIME', async () => {
    const preview = await buildPreview(Buffer.from([0, 255, 0, 1, 2, 3]), [], limits);
    assert.equal(typeof preview.body, 'string');
  });
});

describe('htmlToText', () => {
  it('drops elements that never show as text', () => {
    const text = htmlToText('<svg><text>hidden</text></svg><noscript>ns</noscript><b>shown</b>');
    assert.equal(text, 'shown');
  });
});
