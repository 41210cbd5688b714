import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

import { listMimeAttachments } from '../helpers/sim-attachments.js';
import { readJson, sendEmpty, sendGraphError, sendJson } from './http-tools.js';
import { createMessage } from './message-create.js';
import type { MailboxStore, SimFolder, SimMailbox, SimMessage } from './mailbox-store.js';
import { sendMimeMail } from './send-mime-mail.js';
import type { SubscriptionHub } from './subscriptions.js';

/** Graph's default page size for messages is 10; $top may ask for up to 1,000. */
const DEFAULT_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 1000;

/** How a `$value` download is cut short. */
export interface MimeTruncation {
  /** Bytes sent before the connection is closed. */
  bytes: number;
  /** `content-length` declares the full size; `chunked` declares none. */
  mode: 'content-length' | 'chunked';
}

/** A mail the simulated mailbox sent through sendMail. */
export interface SentMail {
  mailboxId: string;
  /** `json` for an application/json request, `mime` for base64 MIME sent as text/plain. */
  format: 'json' | 'mime';
  /** The parsed JSON request; for `mime`, the base64 text as received. */
  body: unknown;
  /** The decoded MIME message, for `mime` only. */
  mime?: Buffer;
}

/** What the mailbox routes share with the rest of the simulator. */
export interface MailRouteContext {
  store: MailboxStore;
  hub: SubscriptionHub;
  baseUrl: string;
  truncations: Map<string, MimeTruncation>;
  sentMail: SentMail[];
  softDeleted: string[];
  permanentlyDeleted: string[];
  /** Delta pages already computed, by skip token. */
  deltaPages: Map<string, { items: unknown[]; deltaToken: string }>;
}

/** Message properties as Graph returns them (a subset). */
export function toGraphMessage(message: SimMessage): Record<string, unknown> {
  return {
    '@odata.etag': `W/"${message.changeKey}"`,
    id: message.id,
    internetMessageId: message.internetMessageId,
    parentFolderId: message.folderId,
    receivedDateTime: message.receivedDateTime,
    lastModifiedDateTime: message.lastModifiedDateTime,
    isDraft: message.isDraft,
    categories: message.categories,
    flag: { flagStatus: message.flagStatus },
    changeKey: message.changeKey,
  };
}

function toGraphFolder(mailbox: SimMailbox, folder: SimFolder): Record<string, unknown> {
  let total = 0;
  for (const message of mailbox.messages.values()) {
    total += message.folderId === folder.id ? 1 : 0;
  }
  return {
    id: folder.id,
    displayName: folder.displayName,
    parentFolderId: folder.parentFolderId,
    childFolderCount: [...mailbox.folders.values()].filter(
      (child) => child.parentFolderId === folder.id,
    ).length,
    unreadItemCount: 0,
    totalItemCount: total,
    isHidden: folder.isHidden,
  };
}

/**
 * Handles `/users/{id}/...` once the mailbox is found and admitted. `rest` is the path after the
 * user segment, already split and decoded.
 */
export async function handleMailboxRequest(
  context: MailRouteContext,
  mailbox: SimMailbox,
  rest: string[],
  url: URL,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const method = request.method ?? 'GET';
  const second = rest[1];
  const lower = rest.map((segment) => segment.toLowerCase());

  if (lower[0] === 'messages' && rest.length === 1 && method === 'GET') {
    return listMessages(context, mailbox, undefined, url, request, response);
  }
  if (lower[0] === 'messages' && rest.length === 1 && method === 'POST') {
    // Without a folder, Graph creates the message in Drafts.
    const drafts = context.store.findFolder(mailbox, 'drafts') ?? context.store.findFolder(mailbox, 'inbox');
    return drafts === undefined
      ? sendGraphError(response, 404, 'ErrorItemNotFound', 'The specified object was not found in the store.')
      : createMessage(context, mailbox, drafts, request, response);
  }
  if (lower[0] === 'messages' && second !== undefined) {
    return handleMessage(context, mailbox, second, lower.slice(2), request, response);
  }
  if (lower[0] === 'mailfolders' && rest.length === 1) {
    return method === 'POST'
      ? createFolder(context, mailbox, request, response)
      : listFolders(context, mailbox, mailbox.rootFolderId, url, response);
  }
  if (lower[0] === 'mailfolders' && second !== undefined) {
    const folder = context.store.findFolder(mailbox, second);
    if (folder === undefined) {
      return sendGraphError(
        response,
        404,
        'ErrorItemNotFound',
        'The specified object was not found in the store.',
      );
    }
    if (rest.length === 2 && method === 'GET') {
      return sendJson(response, 200, toGraphFolder(mailbox, folder));
    }
    if (lower[2] === 'childfolders' && rest.length === 3 && method === 'GET') {
      return listFolders(context, mailbox, folder.id, url, response);
    }
    if (lower[2] === 'messages' && rest.length === 3 && method === 'GET') {
      return listMessages(context, mailbox, folder, url, request, response);
    }
    if (lower[2] === 'messages' && rest.length === 3 && method === 'POST') {
      return createMessage(context, mailbox, folder, request, response);
    }
    if (lower[2] === 'messages' && lower[3] === 'delta' && rest.length === 4 && method === 'GET') {
      return deltaMessages(context, mailbox, folder, url, request, response);
    }
  }
  if (lower[0] === 'sendmail' && rest.length === 1 && method === 'POST') {
    const contentType = String(request.headers['content-type'] ?? '').toLowerCase();
    return contentType.startsWith('text/plain')
      ? sendMimeMail(context, mailbox, request, response)
      : sendMail(context, mailbox, request, response);
  }
  sendGraphError(response, 400, 'BadRequest', 'Resource not found for the segment.');
}

async function handleMessage(
  context: MailRouteContext,
  mailbox: SimMailbox,
  messageId: string,
  action: string[],
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const method = request.method ?? 'GET';
  const message = mailbox.messages.get(messageId);
  if (message === undefined) {
    return sendGraphError(
      response,
      404,
      'ErrorItemNotFound',
      'The specified object was not found in the store.',
    );
  }
  if (action.length === 0 && method === 'GET') {
    return sendJson(response, 200, toGraphMessage(message));
  }
  if (action.length === 0 && method === 'PATCH') {
    return patchMessage(context, mailbox, message, request, response);
  }
  if (action.length === 0 && method === 'DELETE') {
    context.store.removeMessage(mailbox, message);
    context.softDeleted.push(message.id);
    context.hub.notifyChange(mailbox, message.folderId, 'deleted', message.id);
    return sendEmpty(response, 204);
  }
  if (action[0] === '$value' && method === 'GET') {
    return sendMime(context, message, response);
  }
  if (action[0] === 'attachments') {
    return handleAttachments(context, mailbox, message, action.slice(1), method, response);
  }
  if (action[0] === 'move' && method === 'POST') {
    return moveMessage(context, mailbox, message, request, response);
  }
  if (action[0] === 'permanentdelete' && method === 'POST') {
    context.store.removeMessage(mailbox, message);
    context.permanentlyDeleted.push(message.id);
    context.hub.notifyChange(mailbox, message.folderId, 'deleted', message.id);
    return sendEmpty(response, 204);
  }
  sendGraphError(response, 405, 'BadRequest', 'The method is not allowed on this resource.');
}

/** `GET .../attachments` lists them without content; `DELETE .../attachments/{id}` removes one. */
async function handleAttachments(
  context: MailRouteContext,
  mailbox: SimMailbox,
  message: SimMessage,
  rest: string[],
  method: string,
  response: ServerResponse,
): Promise<void> {
  message.attachments ??= await listMimeAttachments(message.mime);
  if (rest.length === 0 && method === 'GET') {
    return sendJson(response, 200, {
      value: message.attachments.map((attachment) => ({
        '@odata.type': attachment.isItem
          ? '#microsoft.graph.itemAttachment'
          : '#microsoft.graph.fileAttachment',
        id: attachment.id,
        name: attachment.name,
        contentType: attachment.contentType,
        size: attachment.size,
        isInline: attachment.isInline,
      })),
    });
  }
  // Attachment ids are case-sensitive; `rest` was lower-cased for route matching.
  const index = message.attachments.findIndex(
    (attachment) => attachment.id.toLowerCase() === rest[0],
  );
  if (rest.length === 1 && method === 'DELETE') {
    if (index < 0) {
      return sendGraphError(
        response,
        404,
        'ErrorItemNotFound',
        'The specified object was not found in the store.',
      );
    }
    message.attachments.splice(index, 1);
    context.store.touchMessage(mailbox, message);
    context.hub.notifyChange(mailbox, message.folderId, 'updated', message.id);
    return sendEmpty(response, 204);
  }
  sendGraphError(response, 405, 'BadRequest', 'The method is not allowed on this resource.');
}

async function patchMessage(
  context: MailRouteContext,
  mailbox: SimMailbox,
  message: SimMessage,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = (await readJson(request)) as
    | { categories?: unknown; flag?: { flagStatus?: unknown } }
    | undefined;
  if (body === undefined || typeof body !== 'object' || body === null) {
    return sendGraphError(response, 400, 'BadRequest', 'Invalid JSON body.');
  }
  if (body.categories !== undefined) {
    if (!Array.isArray(body.categories) || !body.categories.every((c) => typeof c === 'string')) {
      return sendGraphError(response, 400, 'BadRequest', 'categories must be strings.');
    }
    message.categories = body.categories as string[];
  }
  const flagStatus = body.flag?.flagStatus;
  if (flagStatus === 'flagged' || flagStatus === 'notFlagged' || flagStatus === 'complete') {
    message.flagStatus = flagStatus;
  }
  context.store.touchMessage(mailbox, message);
  context.hub.notifyChange(mailbox, message.folderId, 'updated', message.id);
  sendJson(response, 200, toGraphMessage(message));
}

async function moveMessage(
  context: MailRouteContext,
  mailbox: SimMailbox,
  message: SimMessage,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = (await readJson(request)) as { destinationId?: unknown } | undefined;
  const destinationId = body?.destinationId;
  if (typeof destinationId !== 'string') {
    return sendGraphError(response, 400, 'ErrorInvalidRequest', 'destinationId is required.');
  }
  const destination = context.store.findFolder(mailbox, destinationId);
  if (destination === undefined) {
    return sendGraphError(
      response,
      404,
      'ErrorItemNotFound',
      'The specified object was not found in the store.',
    );
  }
  const moved = context.store.moveMessage(mailbox, message, destination);
  context.hub.notifyChange(mailbox, message.folderId, 'deleted', message.id);
  context.hub.notifyChange(mailbox, destination.id, 'created', moved.id);
  sendJson(response, 201, toGraphMessage(moved));
}

/** Streams the MIME, or cuts it short when a truncation is set for the message. */
function sendMime(context: MailRouteContext, message: SimMessage, response: ServerResponse): void {
  const truncation = context.truncations.get(message.id);
  if (truncation === undefined) {
    response.writeHead(200, {
      'content-type': 'text/plain',
      'content-length': message.mime.length,
    });
    response.end(message.mime);
    return;
  }
  const headers: Record<string, string | number> = { 'content-type': 'text/plain' };
  if (truncation.mode === 'content-length') {
    headers['content-length'] = message.mime.length;
  }
  response.writeHead(200, headers);
  response.write(message.mime.subarray(0, truncation.bytes), () => {
    // Closing the socket mid-body is what a dropped transport connection looks like to a client.
    setTimeout(() => response.socket?.destroy(), 20);
  });
}

function pageSize(url: URL, request: IncomingMessage): number {
  const prefer = /odata\.maxpagesize=(\d+)/.exec(String(request.headers.prefer ?? ''));
  const top = url.searchParams.get('$top');
  const size = Number(top ?? prefer?.[1] ?? DEFAULT_PAGE_SIZE);
  return Math.min(Math.max(1, Number.isFinite(size) ? size : DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
}

/** The date properties of a message that a list filter may compare. */
const FILTER_PROPERTIES = {
  receiveddatetime: (message: SimMessage) => message.receivedDateTime,
  lastmodifieddatetime: (message: SimMessage) => message.lastModifiedDateTime,
} as const;

/**
 * Parses the date comparisons mailsweep sends (`receivedDateTime` and `lastModifiedDateTime`,
 * joined by `and`). Returns `inefficient` when the `$orderby` property is not compared first:
 * Graph refuses such a query with InefficientFilter.
 */
function parseMessageFilter(
  filter: string | null,
  orderBy: string | null,
): ((message: SimMessage) => boolean) | 'invalid' | 'inefficient' {
  if (filter === null) {
    return () => true;
  }
  const tests: Array<(message: SimMessage) => boolean> = [];
  const properties: string[] = [];
  for (const clause of filter.split(/\s+and\s+/i)) {
    const match = /^(receivedDateTime|lastModifiedDateTime)\s+(ge|gt|le|lt)\s+(\S+)$/i.exec(clause.trim());
    const bound = Date.parse(match?.[3] ?? '');
    if (match === null || Number.isNaN(bound)) {
      return 'invalid';
    }
    const property = match[1]!.toLowerCase() as keyof typeof FILTER_PROPERTIES;
    const operator = match[2]!.toLowerCase();
    properties.push(property);
    tests.push((message) => compare(operator, Date.parse(FILTER_PROPERTIES[property](message)), bound));
  }
  const sorted = orderBy?.trim().split(/\s+/)[0]?.toLowerCase();
  if (sorted !== undefined && sorted !== '' && properties[0] !== sorted) {
    return 'inefficient';
  }
  return (message) => tests.every((test) => test(message));
}

function compare(operator: string, value: number, bound: number): boolean {
  switch (operator) {
    case 'ge':
      return value >= bound;
    case 'gt':
      return value > bound;
    case 'le':
      return value <= bound;
    default:
      return value < bound;
  }
}

function listMessages(
  context: MailRouteContext,
  mailbox: SimMailbox,
  folder: SimFolder | undefined,
  url: URL,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const matches = parseMessageFilter(url.searchParams.get('$filter'), url.searchParams.get('$orderby'));
  if (matches === 'invalid') {
    return sendGraphError(
      response,
      400,
      'ErrorInvalidUrlQueryFilter',
      'The query filter is invalid.',
    );
  }
  if (matches === 'inefficient') {
    return sendGraphError(
      response,
      400,
      'InefficientFilter',
      'The restriction or sort order is too complex for this operation.',
    );
  }
  const all = [...mailbox.messages.values()]
    .filter((message) => folder === undefined || message.folderId === folder.id)
    .filter((message) => matches(message))
    .sort((a, b) => Date.parse(b.receivedDateTime) - Date.parse(a.receivedDateTime));
  const size = pageSize(url, request);
  const skip = Number(url.searchParams.get('$skip') ?? '0');
  const page = all.slice(skip, skip + size).map(toGraphMessage);
  const body: Record<string, unknown> = { value: page };
  if (skip + size < all.length) {
    const next = new URL(url.href, context.baseUrl);
    next.searchParams.set('$skip', String(skip + size));
    next.searchParams.set('$top', String(size));
    body['@odata.nextLink'] =
      `${context.baseUrl}${next.pathname.replace(/^\/v1\.0/, '')}${next.search}`;
  }
  sendJson(response, 200, body);
}

function listFolders(
  context: MailRouteContext,
  mailbox: SimMailbox,
  parentFolderId: string,
  url: URL,
  response: ServerResponse,
): void {
  // Hidden folders are listed only with includeHiddenFolders=true (mailFolder list docs).
  const includeHidden = url.searchParams.get('includeHiddenFolders') === 'true';
  const folders = [...mailbox.folders.values()].filter(
    (folder) =>
      folder.parentFolderId === parentFolderId && (includeHidden || !folder.isHidden),
  );
  const size = Math.min(Number(url.searchParams.get('$top') ?? DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
  const skip = Number(url.searchParams.get('$skip') ?? '0');
  const body: Record<string, unknown> = {
    value: folders.slice(skip, skip + size).map((folder) => toGraphFolder(mailbox, folder)),
  };
  if (skip + size < folders.length) {
    const next = new URLSearchParams(url.searchParams);
    next.set('$skip', String(skip + size));
    next.set('$top', String(size));
    body['@odata.nextLink'] =
      parentFolderId === mailbox.rootFolderId
        ? `${context.baseUrl}/users/${mailbox.id}/mailFolders?${next.toString()}`
        : `${context.baseUrl}/users/${mailbox.id}/mailFolders/${parentFolderId}/childFolders?${next.toString()}`;
  }
  sendJson(response, 200, body);
}

async function createFolder(
  context: MailRouteContext,
  mailbox: SimMailbox,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = (await readJson(request)) as
    | { displayName?: unknown; isHidden?: unknown }
    | undefined;
  if (typeof body?.displayName !== 'string' || body.displayName.length === 0) {
    return sendGraphError(response, 400, 'ErrorInvalidRequest', 'displayName is required.');
  }
  const name = body.displayName.toLowerCase();
  for (const folder of mailbox.folders.values()) {
    if (
      folder.parentFolderId === mailbox.rootFolderId &&
      folder.displayName.toLowerCase() === name
    ) {
      return sendGraphError(
        response,
        409,
        'ErrorFolderExists',
        'A folder with the specified name already exists.',
      );
    }
  }
  const folder = context.store.createFolder(mailbox, body.displayName, body.isHidden === true);
  sendJson(response, 201, toGraphFolder(mailbox, folder));
}

interface DeltaToken {
  folderId: string;
  seq: number;
}

function encodeDeltaToken(token: DeltaToken): string {
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

function decodeDeltaToken(text: string): DeltaToken | undefined {
  try {
    const value = JSON.parse(
      Buffer.from(text, 'base64url').toString('utf8'),
    ) as Partial<DeltaToken>;
    return typeof value.folderId === 'string' && typeof value.seq === 'number'
      ? { folderId: value.folderId, seq: value.seq }
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Delta query for one folder (message delta docs): pages linked by @odata.nextLink, the last page
 * carrying @odata.deltaLink; removed items come back as `{ id, "@removed": { reason } }`. A
 * token older than the mailbox's oldest valid one answers 410 Gone, which means a full resync.
 */
function deltaMessages(
  context: MailRouteContext,
  mailbox: SimMailbox,
  folder: SimFolder,
  url: URL,
  request: IncomingMessage,
  response: ServerResponse,
): void {
  const deltaPath = `${context.baseUrl}/users/${mailbox.id}/mailFolders/${folder.id}/messages/delta`;
  const skipToken = url.searchParams.get('$skiptoken');
  if (skipToken !== null) {
    return sendDeltaPage(context, skipToken, deltaPath, response);
  }
  const deltaText = url.searchParams.get('$deltatoken');
  let items: unknown[];
  if (deltaText === null) {
    items = [...mailbox.messages.values()]
      .filter((message) => message.folderId === folder.id)
      .map(toGraphMessage);
  } else {
    const token = decodeDeltaToken(deltaText);
    if (token === undefined || token.folderId !== folder.id) {
      return sendGraphError(response, 400, 'BadRequest', 'The delta token is invalid.');
    }
    if (token.seq < mailbox.oldestValidDeltaSeq) {
      return sendGraphError(
        response,
        410,
        'SyncStateNotFound',
        'The sync state is no longer valid.',
      );
    }
    items = changedSince(mailbox, folder, token.seq);
  }
  const deltaToken = encodeDeltaToken({
    folderId: folder.id,
    seq: context.store.currentSequence(),
  });
  const size = pageSize(url, request);
  const pages: string[] = [];
  for (let offset = 0; offset < items.length; offset += size) {
    pages.push(randomUUID());
  }
  if (pages.length <= 1) {
    return sendJson(response, 200, {
      value: items,
      '@odata.deltaLink': `${deltaPath}?$deltatoken=${deltaToken}`,
    });
  }
  for (let index = 1; index < pages.length; index += 1) {
    const next = pages[index + 1];
    context.deltaPages.set(pages[index]!, {
      items: items.slice(index * size, (index + 1) * size),
      deltaToken: next === undefined ? deltaToken : `next:${next}`,
    });
  }
  sendJson(response, 200, {
    value: items.slice(0, size),
    '@odata.nextLink': `${deltaPath}?$skiptoken=${pages[1]}`,
  });
}

function sendDeltaPage(
  context: MailRouteContext,
  skipToken: string,
  deltaPath: string,
  response: ServerResponse,
): void {
  const page = context.deltaPages.get(skipToken);
  if (page === undefined) {
    return sendGraphError(response, 400, 'BadRequest', 'The skip token is invalid.');
  }
  context.deltaPages.delete(skipToken);
  const link = page.deltaToken.startsWith('next:')
    ? { '@odata.nextLink': `${deltaPath}?$skiptoken=${page.deltaToken.slice(5)}` }
    : { '@odata.deltaLink': `${deltaPath}?$deltatoken=${page.deltaToken}` };
  sendJson(response, 200, { value: page.items, ...link });
}

function changedSince(mailbox: SimMailbox, folder: SimFolder, seq: number): unknown[] {
  const ids = new Set<string>();
  for (const change of folder.changes) {
    if (change.seq > seq) {
      ids.add(change.messageId);
    }
  }
  return [...ids].map((id) => {
    const message = mailbox.messages.get(id);
    return message !== undefined && message.folderId === folder.id
      ? toGraphMessage(message)
      : { id, '@removed': { reason: 'deleted' } };
  });
}

async function sendMail(
  context: MailRouteContext,
  mailbox: SimMailbox,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const body = (await readJson(request)) as { message?: { toRecipients?: unknown } } | undefined;
  const recipients = body?.message?.toRecipients;
  if (!Array.isArray(recipients) || recipients.length === 0) {
    return sendGraphError(
      response,
      400,
      'ErrorInvalidRecipients',
      'At least one recipient is required.',
    );
  }
  context.sentMail.push({ mailboxId: mailbox.id, format: 'json', body });
  sendEmpty(response, 202);
}
