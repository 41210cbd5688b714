import { randomBytes } from 'node:crypto';

import PostalMime from 'postal-mime';

/** An attachment as a simulated Exchange mailbox lists it. */
export interface SimAttachment {
  id: string;
  name: string;
  contentType: string;
  size: number;
  isInline: boolean;
  /** A nested message (Graph itemAttachment, EWS ItemAttachment) rather than a file. */
  isItem: boolean;
}

/**
 * Lists a message's attachments the way Exchange shows them: every MIME part that is not the body,
 * in MIME order, with nested messages as item attachments named by their subject. postal-mime's
 * own attachment list is the model here, read independently of mailsweep's MIME walker.
 */
export async function listMimeAttachments(mime: Buffer): Promise<SimAttachment[]> {
  const parsed = await PostalMime.parse(mime, {
    forceRfc822Attachments: true,
    attachmentEncoding: 'arraybuffer',
  });
  const attachments: SimAttachment[] = [];
  for (const attachment of parsed.attachments) {
    const isItem = attachment.mimeType.toLowerCase() === 'message/rfc822';
    const content =
      attachment.content instanceof ArrayBuffer
        ? Buffer.from(attachment.content)
        : Buffer.from(String(attachment.content));
    const name =
      attachment.filename ?? (isItem ? await nestedSubject(content) : 'Untitled attachment');
    attachments.push({
      id: `AAMkAtt${randomBytes(24).toString('base64url')}`,
      name,
      contentType: attachment.mimeType,
      size: content.length,
      isInline: attachment.disposition === 'inline',
      isItem,
    });
  }
  return attachments;
}

async function nestedSubject(content: Buffer): Promise<string> {
  const nested = await PostalMime.parse(content);
  return nested.subject ?? '';
}
