import { createHash, randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import libmime from 'libmime';

import type { MailSender, OutgoingMail } from '../graph/subscription-client.js';

/** The destination of digests: Graph sendMail from a mailbox, or .eml files in a folder. */
export interface DigestTransport {
  /** `graph` or `eml-folder`, for logs. */
  kind: 'graph' | 'eml-folder';
  send(mail: OutgoingMail): Promise<void>;
}

/**
 * Sends through Graph sendMail from `fromMailbox`.
 * NOTE: the Graph client sends the HTML body only, because a JSON sendMail message has one body;
 * the plain-text version reaches only the .eml files.
 */
export function graphTransport(sender: MailSender, fromMailbox: string): DigestTransport {
  return { kind: 'graph', send: (mail) => sender.sendMail(fromMailbox, mail) };
}

/**
 * Writes each digest as a multipart/alternative .eml file (plain text and HTML) to `folder`, for
 * local runs without a sending mailbox. Files are named by time and a hash of the recipients, so
 * that no address appears in a file name.
 */
export function emlFolderTransport(
  folder: string,
  fromAddress: string,
  now: () => Date = () => new Date(),
): DigestTransport {
  return {
    kind: 'eml-folder',
    async send(mail) {
      await mkdir(folder, { recursive: true });
      const time = now();
      const hash = createHash('sha256').update(mail.to.join(','), 'utf8').digest('hex');
      const name = `${time.toISOString().replace(/[:.]/g, '-')}-${hash.slice(0, 12)}.eml`;
      await writeFile(join(folder, name), toMime(mail, fromAddress, time), { flag: 'wx' });
    },
  };
}

/** Builds the RFC 5322 message of a digest, with both bodies base64-encoded in UTF-8. */
export function toMime(mail: OutgoingMail, fromAddress: string, date: Date): string {
  const boundary = `mailsweep-${randomBytes(12).toString('hex')}`;
  const text = mail.text ?? '';
  return [
    `From: mailsweep <${fromAddress}>`,
    `To: ${mail.to.join(', ')}`,
    `Subject: ${libmime.encodeWords(mail.subject, 'Q', 52)}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: <${randomBytes(16).toString('hex')}@mailsweep.invalid>`,
    'MIME-Version: 1.0',
    'Auto-Submitted: auto-generated',
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    toBase64Lines(text),
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    toBase64Lines(mail.html),
    `--${boundary}--`,
    '',
  ].join('\r\n');
}

function toBase64Lines(text: string): string {
  return (Buffer.from(text, 'utf8').toString('base64').match(/.{1,76}/g) ?? ['']).join('\r\n');
}
