import { randomBytes } from 'node:crypto';

/**
 * Builds one message of about `size` bytes: a short text body and a base64 attachment of random
 * bytes, which neither compresses nor matches a signature, so every stage reads all of it.
 */
export function buildLargeMessage(size: number): Uint8Array {
  const header = [
    'From: Large Sender <large@fabrikam.example>',
    'To: recipient@contoso.com',
    'Subject: large attachment',
    'Date: Thu, 03 Dec 2026 09:15:00 +0000',
    'Message-ID: <large@fabrikam.example>',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="large"',
    '',
    '--large',
    'Content-Type: text/plain',
    '',
    'The archive is attached.',
    '--large',
    'Content-Type: application/octet-stream; name="archive.bin"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="archive.bin"',
    '',
    '',
  ].join('\r\n');
  const footer = '\r\n--large--\r\n';
  // 76 base64 characters plus CRLF carry 57 bytes. The message is written straight into one buffer
  // so that building it does not add a second copy to the peak RSS being measured.
  const lineCount = Math.floor((size - header.length - footer.length) / 78);
  const message = Buffer.allocUnsafe(header.length + lineCount * 78 - 2 + footer.length);
  let offset = message.write(header, 0, 'latin1');
  for (let line = 0; line < lineCount; line++) {
    offset += message.write(randomBytes(57).toString('base64'), offset, 'latin1');
    if (line < lineCount - 1) {
      offset += message.write('\r\n', offset, 'latin1');
    }
  }
  offset += message.write(footer, offset, 'latin1');
  return new Uint8Array(message.buffer, message.byteOffset, offset);
}
