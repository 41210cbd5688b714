import PostalMime, { type Address } from 'postal-mime';

import { ScannerError } from '../shared/errors.js';

/**
 * Builds the JSON of Graph's "create message" for a release import. Graph offers two creates. A
 * base64 MIME body sent as text/plain keeps the bytes but always yields a draft. A JSON body may
 * set PR_MESSAGE_FLAGS (0x0E07) as a single-value extended property in the same request, and so
 * yields a received, non-draft message. A released message must not come back as a draft, so
 * mailsweep uses the JSON create and accepts what it loses. Exchange rebuilds the MIME from these
 * fields, so the original header block (Received chain, authentication results, X- headers,
 * header order and folding), the MIME structure, boundaries and transfer encodings, and S/MIME or
 * DKIM signatures over the original bytes do not survive.
 * docs/quarantine-api.md lists what is kept.
 * @see https://learn.microsoft.com/graph/api/user-post-messages
 * @see https://learn.microsoft.com/openspecs/exchange_server_protocols/ms-oxcmsg (2.2.1.6)
 */

// NOTE: that Exchange Online keeps a supplied internetMessageId, from and sender on this create
// comes from the message resource's documentation and the simulator, not from a tenant. If a
// tenant drops the internet message id, the release check fails and the item stays quarantined.

/** PR_MESSAGE_FLAGS with only MSGFLAG_READ (1): received, read, not unsent (8), so not a draft. */
export const MESSAGE_FLAGS_PROPERTY = { id: 'Integer 0x0E07', value: '1' };

/** PR_CLIENT_SUBMIT_TIME: the sent time clients show. */
const CLIENT_SUBMIT_TIME_ID = 'SystemTime 0x0039';

/** PR_MESSAGE_DELIVERY_TIME: the received time clients show and sort by. */
const DELIVERY_TIME_ID = 'SystemTime 0x0E06';

/**
 * Largest JSON body sent, in bytes. Graph refuses requests over 4 MB; larger attachments would
 * need an upload session per attachment, which this import does not do.
 */
export const MAX_GRAPH_IMPORT_BYTES = 4 * 1000 * 1000;

interface GraphRecipient {
  emailAddress: { address: string; name?: string };
}

/**
 * Parses stored MIME into the body of a JSON create.
 * @param receivedAt The original receive time, kept as the delivery time.
 * @throws ScannerError `mailbox-request-failed` when the body would exceed what Graph accepts.
 */
export async function toGraphImportBody(
  mime: Buffer,
  receivedAt: Date | undefined,
): Promise<Record<string, unknown>> {
  const parsed = await PostalMime.parse(mime, { attachmentEncoding: 'base64' });
  const times: { id: string; value: string }[] = [];
  const sent = parsed.date === undefined ? undefined : new Date(parsed.date);
  if (sent !== undefined && Number.isFinite(sent.getTime())) {
    times.push({ id: CLIENT_SUBMIT_TIME_ID, value: sent.toISOString() });
  }
  if (receivedAt !== undefined && Number.isFinite(receivedAt.getTime())) {
    times.push({ id: DELIVERY_TIME_ID, value: receivedAt.toISOString() });
  }

  const html = parsed.html;
  const body: Record<string, unknown> = {
    subject: parsed.subject ?? '',
    body:
      html === undefined
        ? { contentType: 'text', content: parsed.text ?? '' }
        : { contentType: 'html', content: html },
    toRecipients: toRecipients(parsed.to),
    ccRecipients: toRecipients(parsed.cc),
    replyTo: toRecipients(parsed.replyTo),
    internetMessageId: parsed.messageId,
    singleValueExtendedProperties: [MESSAGE_FLAGS_PROPERTY, ...times],
    attachments: parsed.attachments.map((attachment) => ({
      '@odata.type': '#microsoft.graph.fileAttachment',
      name: attachment.filename ?? 'attachment',
      contentType: attachment.mimeType,
      contentBytes: attachment.content,
      isInline: attachment.disposition === 'inline',
      contentId: attachment.contentId?.replace(/^<|>$/g, ''),
    })),
  };
  const from = toRecipients(parsed.from === undefined ? undefined : [parsed.from])[0];
  if (from !== undefined) {
    body.from = from;
    body.sender = parsed.sender === undefined ? from : toRecipients([parsed.sender])[0];
  }
  if (Buffer.byteLength(JSON.stringify(body), 'utf8') > MAX_GRAPH_IMPORT_BYTES) {
    throw new ScannerError(
      'mailbox-request-failed',
      'The message is too large to import through Graph in one request',
      { fields: { operation: 'import-message', maxBytes: MAX_GRAPH_IMPORT_BYTES } },
    );
  }
  return body;
}

function toRecipients(addresses: readonly Address[] | undefined): GraphRecipient[] {
  const recipients: GraphRecipient[] = [];
  for (const address of addresses ?? []) {
    // A group (RFC 5322 section 3.4) lists its members; each member is one recipient.
    const members = address.group ?? [address];
    for (const member of members) {
      if (member.address !== undefined && member.address !== '') {
        const name = member.name === '' ? undefined : member.name;
        recipients.push({ emailAddress: { address: member.address, name } });
      }
    }
  }
  return recipients;
}
