import MailComposer from 'nodemailer/lib/mail-composer';

import type { OutgoingMail } from '../graph/subscription-client.js';
import { ScannerError } from './errors.js';

/** Display name in the From header of every message mailsweep sends. */
const FROM_NAME = 'mailsweep';

/**
 * Characters that must not occur in an address given to the composer. A comma or semicolon
 * would split one recipient into several, and angle brackets, quotes or white space would let the
 * value carry a display name or a second address.
 */
const UNSAFE_ADDRESS_CHARS = /[\s,;<>"()[\]\\\u0000-\u001f\u007f]/;

/**
 * Builds the RFC 5322 message of a digest or notice: multipart/alternative with the text/plain and
 * text/html bodies in UTF-8, or text/html alone when `mail.text` is unset. nodemailer's
 * MailComposer writes the From, To, Subject (as RFC 2047 encoded words when not ASCII), Date,
 * Message-ID and MIME-Version headers and folds long lines. `Auto-Submitted: auto-generated`
 * (RFC 3834) asks the recipients' servers not to send out-of-office or other automatic replies.
 * The composer may not read files or URLs, so the bodies are the given strings only.
 * @param date The Date header; default the current time.
 * @throws ScannerError `input-unreadable` when the sender or a recipient is not a plain address.
 */
export async function toOutgoingMime(
  mail: OutgoingMail,
  fromAddress: string,
  date: Date = new Date(),
): Promise<Buffer> {
  checkAddress(fromAddress, 'from');
  if (mail.to.length === 0) {
    throw new ScannerError('input-unreadable', 'Outgoing mail has no recipient');
  }
  mail.to.forEach((address, index) => checkAddress(address, `to[${index}]`));

  const composer = new MailComposer({
    from: { name: FROM_NAME, address: fromAddress },
    to: mail.to.map((address) => ({ name: '', address })),
    subject: mail.subject,
    date,
    text: mail.text,
    html: mail.html,
    headers: { 'Auto-Submitted': 'auto-generated' },
    disableFileAccess: true,
    disableUrlAccess: true,
    newline: 'win',
  });
  return composer.compile().build();
}

function checkAddress(address: string, field: string): void {
  const at = address.indexOf('@');
  const valid =
    at > 0 &&
    at === address.lastIndexOf('@') &&
    at < address.length - 1 &&
    !UNSAFE_ADDRESS_CHARS.test(address);
  if (!valid) {
    throw new ScannerError('input-unreadable', `Outgoing mail has an invalid address in ${field}`, {
      fields: { field },
    });
  }
}
