import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { readBody, sendGraphError, sendJson } from './http-tools.js';
import type { MailboxStore, SimFolder, SimMailbox } from './mailbox-store.js';
import type { MailRouteContext } from './mail-routes.js';
import { toGraphMessage } from './mail-routes.js';

/**
 * `POST /users/{id}/mailFolders/{id}/messages` and `POST /users/{id}/messages`: Graph's "create
 * message", as its documentation describes it. A `text/plain` body is base64 MIME: the message
 * keeps those bytes but is always a draft, because MIME gives no way to set PR_MESSAGE_FLAGS. The
 * store rebuilds a JSON body into a new MIME message. That message is a draft unless
 * singleValueExtendedProperties sets PR_MESSAGE_FLAGS (`Integer 0x0E07`) without MSGFLAG_UNSENT
 * (8). PR_MESSAGE_DELIVERY_TIME (`SystemTime 0x0E06`) becomes its received time.
 * @see https://learn.microsoft.com/graph/api/user-post-messages
 */

const MESSAGE_FLAGS_ID = 'integer 0x0e07';
const DELIVERY_TIME_ID = 'systemtime 0x0e06';
const SUBMIT_TIME_ID = 'systemtime 0x0039';
const MSGFLAG_UNSENT = 8;

interface Recipient {
  emailAddress?: { address?: string; name?: string };
}

interface JsonMessage {
  subject?: string;
  body?: { contentType?: string; content?: string };
  from?: Recipient;
  toRecipients?: Recipient[];
  ccRecipients?: Recipient[];
  replyTo?: Recipient[];
  internetMessageId?: string;
  singleValueExtendedProperties?: { id?: string; value?: string }[];
  attachments?: { name?: string; contentType?: string; contentBytes?: string; isInline?: boolean; contentId?: string }[];
}

/** Creates a message in `folder` from the request body and responds 201 with it. */
export async function createMessage(
  context: MailRouteContext,
  mailbox: SimMailbox,
  folder: SimFolder,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = await readBody(request);
  const contentType = String(request.headers['content-type'] ?? '').toLowerCase();
  let created;
  if (contentType.startsWith('text/plain')) {
    const mime = Buffer.from(body.toString('latin1').replace(/\s+/g, ''), 'base64');
    if (mime.length === 0) {
      return sendGraphError(response, 400, 'ErrorMimeContentInvalid', 'The MIME content is invalid.');
    }
    created = addMessage(context.store, mailbox, folder, {
      mime,
      internetMessageId: headerOf(mime, 'message-id') ?? newMessageId(),
      receivedDateTime: new Date().toISOString(),
      isDraft: true,
    });
  } else {
    let message: JsonMessage;
    try {
      message = JSON.parse(body.toString('utf8')) as JsonMessage;
    } catch {
      return sendGraphError(response, 400, 'BadRequest', 'Unable to read JSON request payload.');
    }
    const properties = new Map(
      (message.singleValueExtendedProperties ?? []).map((property) => [String(property.id).toLowerCase(), property.value]),
    );
    const flags = properties.has(MESSAGE_FLAGS_ID) ? Number(properties.get(MESSAGE_FLAGS_ID)) : undefined;
    const internetMessageId = message.internetMessageId ?? newMessageId();
    created = addMessage(context.store, mailbox, folder, {
      mime: renderMime(message, internetMessageId, properties.get(SUBMIT_TIME_ID)),
      internetMessageId,
      receivedDateTime: properties.get(DELIVERY_TIME_ID) ?? new Date().toISOString(),
      isDraft: flags === undefined || !Number.isInteger(flags) || (flags & MSGFLAG_UNSENT) !== 0,
    });
  }
  context.hub.notifyChange(mailbox, folder.id, 'created', created.id);
  sendJson(response, 201, toGraphMessage(created));
}

function addMessage(
  store: MailboxStore,
  mailbox: SimMailbox,
  folder: SimFolder,
  input: { mime: Buffer; internetMessageId: string; receivedDateTime: string; isDraft: boolean },
) {
  return store.addMessage(mailbox, folder, input);
}

/**
 * Renders the MIME the store serves for a message created from JSON: Exchange writes its own
 * headers and structure, so only the fields of the JSON survive.
 */
function renderMime(message: JsonMessage, internetMessageId: string, sentAt: string | undefined): Buffer {
  const boundary = `_sim_${randomBytes(8).toString('hex')}_`;
  const lines: string[] = [];
  const addresses = (recipients: Recipient[] | undefined) =>
    (recipients ?? []).map((recipient) => recipient.emailAddress?.address ?? '').filter((address) => address !== '').join(', ');
  if (message.from?.emailAddress?.address !== undefined) {
    lines.push(`From: ${message.from.emailAddress.address}`);
  }
  const to = addresses(message.toRecipients);
  const cc = addresses(message.ccRecipients);
  if (to !== '') lines.push(`To: ${to}`);
  if (cc !== '') lines.push(`Cc: ${cc}`);
  lines.push(`Subject: =?utf-8?B?${Buffer.from(message.subject ?? '', 'utf8').toString('base64')}?=`);
  lines.push(`Date: ${new Date(sentAt ?? Date.now()).toUTCString()}`);
  lines.push(`Message-ID: ${internetMessageId}`);
  lines.push('MIME-Version: 1.0');
  lines.push(`Content-Type: multipart/mixed; boundary="${boundary}"`, '');
  const bodyType = message.body?.contentType === 'html' ? 'text/html' : 'text/plain';
  lines.push(`--${boundary}`, `Content-Type: ${bodyType}; charset="utf-8"`, 'Content-Transfer-Encoding: base64', '');
  lines.push(wrap(Buffer.from(message.body?.content ?? '', 'utf8').toString('base64')));
  for (const attachment of message.attachments ?? []) {
    const disposition = attachment.isInline === true ? 'inline' : 'attachment';
    lines.push(`--${boundary}`, `Content-Type: ${attachment.contentType ?? 'application/octet-stream'}; name="${attachment.name ?? 'attachment'}"`);
    lines.push(`Content-Disposition: ${disposition}; filename="${attachment.name ?? 'attachment'}"`);
    if (attachment.contentId !== undefined) lines.push(`Content-ID: <${attachment.contentId}>`);
    lines.push('Content-Transfer-Encoding: base64', '', wrap(attachment.contentBytes ?? ''));
  }
  lines.push(`--${boundary}--`, '');
  return Buffer.from(lines.join('\r\n'), 'utf8');
}

function wrap(base64: string): string {
  return base64.replace(/(.{76})/g, '$1\r\n').replace(/\r\n$/, '');
}

function headerOf(mime: Buffer, name: string): string | undefined {
  const head = mime.toString('latin1').split(/\r?\n\r?\n/, 1)[0] ?? '';
  const match = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head);
  return match?.[1]?.trim();
}

function newMessageId(): string {
  return `<${randomBytes(12).toString('hex')}@simulator.outlook.example>`;
}
