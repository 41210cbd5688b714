import type { IncomingMessage, ServerResponse } from 'node:http';

import PostalMime from 'postal-mime';

import { MAX_REQUEST_BODY_BYTES, readBody, sendEmpty, sendGraphError } from './http-tools.js';
import type { SimMailbox } from './mailbox-store.js';
import type { MailRouteContext } from './mail-routes.js';

/**
 * `POST /users/{id}/sendMail` with `Content-Type: text/plain`: Graph's sendMail in MIME format.
 * The body is the whole RFC 5322 message in base64, the recipients come from its To, Cc and Bcc
 * headers, and Graph responds 202 Accepted with no body. The documentation gives one error for
 * malformed MIME: 400 with the message "Invalid base64 string for MIME content". The simulator
 * returns it for text that is not base64 and for decoded bytes that are no RFC 5322 message.
 * Throttling is applied before this handler, as for every mailbox request.
 * @see https://learn.microsoft.com/graph/api/user-sendmail
 */

// NOTE: the documentation gives the message text but not the error codes. The codes below are
// the simulator's choice, so mailsweep must not branch on them.
const INVALID_BASE64_CODE = 'ErrorMimeContentInvalidBase64String';
const INVALID_MIME_CODE = 'ErrorMimeContentInvalid';
const INVALID_MIME_MESSAGE = 'Invalid base64 string for MIME content.';

/** Base64 with padding, after line breaks are removed. */
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A header field line (RFC 5322 section 2.2: printable name, colon) or a folded continuation. */
const HEADER_LINE = /^(?:[!-9;-~]+:|[ \t])/;

/** Decodes, checks and records a MIME sendMail, then responds 202. */
export async function sendMimeMail(
  context: MailRouteContext,
  mailbox: SimMailbox,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(request);
  } catch {
    return sendGraphError(
      response,
      413,
      'RequestEntityTooLarge',
      `The maximum request length supported is ${MAX_REQUEST_BODY_BYTES / 1024 / 1024}MB.`,
    );
  }
  const text = body.toString('latin1').replace(/\r?\n/g, '');
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) {
    return sendGraphError(response, 400, INVALID_BASE64_CODE, INVALID_MIME_MESSAGE);
  }
  const mime = Buffer.from(text, 'base64');
  if (!hasHeaderBlock(mime)) {
    return sendGraphError(response, 400, INVALID_MIME_CODE, INVALID_MIME_MESSAGE);
  }

  let recipients: number;
  try {
    const parsed = await PostalMime.parse(mime);
    recipients = [parsed.to, parsed.cc, parsed.bcc]
      .flatMap((list) => list ?? [])
      .flatMap((entry) => entry.group ?? [entry])
      .filter((entry) => entry.address.includes('@')).length;
  } catch {
    return sendGraphError(response, 400, INVALID_MIME_CODE, INVALID_MIME_MESSAGE);
  }
  if (recipients === 0) {
    return sendGraphError(
      response,
      400,
      'ErrorInvalidRecipients',
      'At least one recipient is required.',
    );
  }
  context.sentMail.push({ mailboxId: mailbox.id, format: 'mime', body: text, mime });
  sendEmpty(response, 202);
}

/** Checks that the message starts with header fields that end in an empty line. */
function hasHeaderBlock(mime: Buffer): boolean {
  const raw = mime.toString('latin1');
  const end = raw.search(/\r?\n\r?\n/);
  if (end <= 0) {
    return false;
  }
  return raw
    .slice(0, end)
    .split(/\r?\n/)
    .every((line, index) => HEADER_LINE.test(line) && (index > 0 || !/^[ \t]/.test(line)));
}
