import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import type { MimeMailSender, OutgoingMail } from '../graph/subscription-client.js';
import { toOutgoingMime } from '../shared/outgoing-mime.js';

/** The destination of digests: Graph sendMail from a mailbox, or .eml files in a folder. */
export interface DigestTransport {
  /** `graph` or `eml-folder`, for logs. */
  kind: 'graph' | 'eml-folder';
  send(mail: OutgoingMail): Promise<void>;
}

/**
 * Sends each digest through Graph sendMail in MIME format from `fromMailbox`, as the same
 * multipart/alternative message (plain text and HTML) that the .eml files contain. Exchange keeps
 * a copy of each digest in the sending mailbox's Sent Items.
 */
export function graphTransport(
  sender: MimeMailSender,
  fromMailbox: string,
  now: () => Date = () => new Date(),
): DigestTransport {
  return {
    kind: 'graph',
    async send(mail) {
      const mime = await toOutgoingMime(mail, fromMailbox, now());
      await sender.sendMimeMail(fromMailbox, mime);
    },
  };
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
      const mime = await toOutgoingMime(mail, fromAddress, time);
      await writeFile(join(folder, name), mime, { flag: 'wx' });
    },
  };
}
