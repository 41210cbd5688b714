import {
  findFolder,
  moveItem,
  newEwsId,
  readMimeHeaders,
  recordChange,
  type SimFolder,
  type SimItem,
  type SimMailbox,
} from './ews-store.js';
import type { SimAttachment } from '../helpers/sim-attachments.js';

/** A request element in fast-xml-parser's form, namespace prefixes removed. */
export type Node = Record<string, unknown>;

/** EWS caps a page of a FindItem that has a restriction at 250 items. */
export const RESTRICTED_PAGE_LIMIT = 250;

/** SyncFolderItems returns at most 512 changes per call. */
const MAX_SYNC_CHANGES = 512;

/** A response-message failure: the operation returns ResponseClass Error with this code. */
export class OperationError extends Error {
  constructor(readonly responseCode: string) {
    super(responseCode);
  }
}

/** Escapes text and attribute values for the response XML. */
export function esc(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function asNode(value: unknown): Node | undefined {
  const single = Array.isArray(value) ? value[0] : value;
  return single !== null && typeof single === 'object' ? (single as Node) : undefined;
}

function toList(value: unknown): unknown[] {
  if (Array.isArray(value)) {
    return value;
  }
  return value === undefined ? [] : [value];
}

function asNodes(value: unknown): Node[] {
  const list = toList(value);
  return list.filter((item): item is Node => item !== null && typeof item === 'object');
}

function textOf(value: unknown): string | undefined {
  const single = Array.isArray(value) ? value[0] : value;
  if (typeof single === 'string') {
    return single;
  }
  const node = asNode(single);
  return node === undefined ? undefined : String(node['#text'] ?? '');
}

function attr(node: Node | undefined, name: string): string | undefined {
  const value = node?.[`@_${name}`];
  return value === undefined ? undefined : String(value);
}

/** Resolves a DistinguishedFolderId or FolderId element to a folder. */
function resolveFolder(mailbox: SimMailbox, container: unknown): SimFolder {
  const holder = asNode(container);
  const distinguished = attr(asNode(holder?.DistinguishedFolderId), 'Id');
  const id = attr(asNode(holder?.FolderId), 'Id');
  const folder =
    distinguished !== undefined
      ? findFolder(mailbox, { distinguished })
      : id !== undefined
        ? findFolder(mailbox, { id })
        : undefined;
  if (folder === undefined) {
    throw new OperationError('ErrorFolderNotFound');
  }
  return folder;
}

function requireItem(mailbox: SimMailbox, id: string | undefined): SimItem {
  const item = id === undefined ? undefined : mailbox.items.get(id);
  if (item === undefined) {
    throw new OperationError(
      id === undefined || id.length < 8 ? 'ErrorInvalidIdMalformed' : 'ErrorItemNotFound',
    );
  }
  return item;
}

function itemIdsOf(container: unknown): string[] {
  return asNodes(asNode(container)?.ItemId).map((node) => attr(node, 'Id') ?? '');
}

/** Serializes an item with the properties the client reads, and its attachments when asked. */
export function itemXml(item: SimItem, mime?: Buffer, withAttachments = false): string {
  const parts = [`<t:ItemId Id="${esc(item.id)}" ChangeKey="CQAAAA=="/>`];
  parts.push(`<t:ParentFolderId Id="${esc(item.folderId)}" ChangeKey="AQAAAA=="/>`);
  if (mime !== undefined) {
    parts.unshift(`<t:MimeContent CharacterSet="UTF-8">${mime.toString('base64')}</t:MimeContent>`);
  }
  parts.push(`<t:ItemClass>IPM.Note</t:ItemClass>`);
  parts.push(`<t:Subject>${esc(item.subject)}</t:Subject>`);
  parts.push(
    `<t:DateTimeReceived>${item.receivedAt.toISOString().replace(/\.\d{3}Z$/, 'Z')}</t:DateTimeReceived>`,
  );
  parts.push(`<t:Size>${item.size ?? item.mime.length}</t:Size>`);
  if (item.categories.length > 0) {
    parts.push(
      `<t:Categories>${item.categories.map((name) => `<t:String>${esc(name)}</t:String>`).join('')}</t:Categories>`,
    );
  }
  parts.push(`<t:IsDraft>${item.isDraft}</t:IsDraft>`);
  parts.push(`<t:LastModifiedTime>${item.modifiedAt.toISOString()}</t:LastModifiedTime>`);
  parts.push(
    `<t:Flag><t:FlagStatus>${item.flagged ? 'Flagged' : 'NotFlagged'}</t:FlagStatus></t:Flag>`,
  );
  if (item.internetMessageId !== undefined) {
    parts.push(`<t:InternetMessageId>${esc(item.internetMessageId)}</t:InternetMessageId>`);
  }
  if (withAttachments && item.attachments !== undefined && item.attachments.length > 0) {
    parts.push(`<t:Attachments>${item.attachments.map(attachmentXml).join('')}</t:Attachments>`);
  }
  return `<t:Message>${parts.join('')}</t:Message>`;
}

function attachmentXml(attachment: SimAttachment): string {
  const element = attachment.isItem ? 't:ItemAttachment' : 't:FileAttachment';
  return (
    `<${element}><t:AttachmentId Id="${esc(attachment.id)}"/>` +
    `<t:Name>${esc(attachment.name)}</t:Name>` +
    `<t:ContentType>${esc(attachment.contentType)}</t:ContentType>` +
    `<t:Size>${attachment.size}</t:Size><t:IsInline>${attachment.isInline}</t:IsInline></${element}>`
  );
}

function folderXml(folder: SimFolder): string {
  return (
    `<t:Folder><t:FolderId Id="${esc(folder.id)}" ChangeKey="AQAAAA=="/>` +
    (folder.parentId === undefined
      ? ''
      : `<t:ParentFolderId Id="${esc(folder.parentId)}" ChangeKey="AQAAAA=="/>`) +
    `<t:FolderClass>${esc(folder.folderClass)}</t:FolderClass>` +
    `<t:DisplayName>${esc(folder.displayName)}</t:DisplayName>` +
    `<t:ExtendedProperty><t:ExtendedFieldURI PropertyTag="0x10f4" PropertyType="Boolean"/>` +
    `<t:Value>${folder.hidden}</t:Value></t:ExtendedProperty></t:Folder>`
  );
}

/** Wraps response messages in `<m:{name}Response><m:ResponseMessages>`. */
export function responseXml(name: string, messages: string[]): string {
  return `<m:${name}Response><m:ResponseMessages>${messages.join('')}</m:ResponseMessages></m:${name}Response>`;
}

/** Builds a successful response message with its content. */
export function success(name: string, content: string): string {
  return `<m:${name}ResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>${content}</m:${name}ResponseMessage>`;
}

/** Builds a failed response message. */
export function failure(name: string, code: string): string {
  return `<m:${name}ResponseMessage ResponseClass="Error"><m:MessageText>${esc(code)}</m:MessageText><m:ResponseCode>${esc(code)}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey></m:${name}ResponseMessage>`;
}

/** FindFolder: Shallow or Deep under a parent, paged by IndexedPageFolderView. */
export function findFolders(mailbox: SimMailbox, request: Node): string {
  const parent = resolveFolder(mailbox, request.ParentFolderIds);
  const deep = attr(request, 'Traversal') === 'Deep';
  const found: SimFolder[] = [];
  const walk = (parentId: string): void => {
    for (const folder of mailbox.folders.values()) {
      if (folder.parentId === parentId) {
        found.push(folder);
        if (deep) {
          walk(folder.id);
        }
      }
    }
  };
  walk(parent.id);
  const view = asNode(request.IndexedPageFolderView);
  const offset = Number(attr(view, 'Offset') ?? '0');
  const max = view === undefined ? found.length : Number(attr(view, 'MaxEntriesReturned'));
  const page = found.slice(offset, offset + max);
  const last = offset + page.length >= found.length;
  return success(
    'FindFolder',
    `<m:RootFolder IndexedPagingOffset="${offset + page.length}" TotalItemsInView="${found.length}" IncludesLastItemInRange="${last}">` +
      `<t:Folders>${page.map(folderXml).join('')}</t:Folders></m:RootFolder>`,
  );
}

/** Reads a Restriction of comparisons on DateTimeReceived and LastModifiedTime, joined by And. */
function readRestriction(restriction: Node | undefined): Array<(item: SimItem) => boolean> {
  if (restriction === undefined) {
    return [];
  }
  const holder = asNode(restriction.And) ?? restriction;
  const tests: Array<(item: SimItem) => boolean> = [];
  const operators: Record<string, (a: number, b: number) => boolean> = {
    IsGreaterThanOrEqualTo: (a, b) => a >= b,
    IsGreaterThan: (a, b) => a > b,
    IsLessThan: (a, b) => a < b,
    IsLessThanOrEqualTo: (a, b) => a <= b,
  };
  for (const [operator, compare] of Object.entries(operators)) {
    for (const node of asNodes(holder[operator])) {
      const field = attr(asNode(node.FieldURI), 'FieldURI');
      const value = Date.parse(
        attr(asNode(asNode(node.FieldURIOrConstant)?.Constant), 'Value') ?? '',
      );
      if (Number.isNaN(value)) {
        throw new OperationError('ErrorInvalidValueForProperty');
      }
      if (field === 'item:DateTimeReceived') {
        // EWS compares at whole seconds, as it stores DateTimeReceived.
        tests.push((item) => compare(Math.floor(item.receivedAt.getTime() / 1000) * 1000, value));
      } else if (field === 'item:LastModifiedTime') {
        tests.push((item) => compare(item.modifiedAt.getTime(), value));
      } else {
        throw new OperationError('ErrorUnsupportedPathForQuery');
      }
    }
  }
  return tests;
}

/** FindItem: Shallow in one folder with a restriction, sort order and indexed paging. */
export function findItems(mailbox: SimMailbox, request: Node): string {
  const folder = resolveFolder(mailbox, request.ParentFolderIds);
  const restriction = asNode(request.Restriction);
  const tests = readRestriction(restriction);
  const order = asNode(asNode(request.SortOrder)?.FieldOrder);
  const descending = attr(order, 'Order') !== 'Ascending';
  const matching = [...mailbox.items.values()]
    .filter((item) => item.folderId === folder.id && tests.every((test) => test(item)))
    .sort((a, b) => {
      const byTime = a.receivedAt.getTime() - b.receivedAt.getTime();
      return (descending ? -byTime : byTime) || a.id.localeCompare(b.id);
    });
  const view = asNode(request.IndexedPageItemView);
  const offset = Number(attr(view, 'Offset') ?? '0');
  let max = view === undefined ? 1000 : Number(attr(view, 'MaxEntriesReturned') ?? '1000');
  if (restriction !== undefined) {
    max = Math.min(max, RESTRICTED_PAGE_LIMIT);
  }
  const page = matching.slice(offset, offset + max);
  const last = offset + page.length >= matching.length;
  return success(
    'FindItem',
    `<m:RootFolder IndexedPagingOffset="${offset + page.length}" TotalItemsInView="${matching.length}" IncludesLastItemInRange="${last}">` +
      `<t:Items>${page.map((item) => itemXml(item)).join('')}</t:Items></m:RootFolder>`,
  );
}

/** True when a GetItem requests item:Attachments among its additional properties. */
export function wantsAttachments(request: Node): boolean {
  const additional = asNode(asNode(request.ItemShape)?.AdditionalProperties);
  return asNodes(additional?.FieldURI).some((field) => attr(field, 'FieldURI') === 'item:Attachments');
}

/** Item ids named by a GetItem. */
export function requestedItemIds(request: Node): string[] {
  return itemIdsOf(request.ItemIds);
}

/**
 * GetItem, one response message per id, with MimeContent and Attachments when asked. The caller
 * reads the attachments from the MIME before, because that parse is asynchronous.
 */
export function getItems(mailbox: SimMailbox, request: Node): string[] {
  const withMime = textOf(asNode(request.ItemShape)?.IncludeMimeContent) === 'true';
  const withAttachments = wantsAttachments(request);
  return itemIdsOf(request.ItemIds).map((id) => {
    try {
      const item = requireItem(mailbox, id);
      const mime =
        withMime && item.mimeCutBytes !== undefined
          ? item.mime.subarray(0, item.mimeCutBytes)
          : item.mime;
      const xml = itemXml(item, withMime ? mime : undefined, withAttachments);
      return success('GetItem', `<m:Items>${xml}</m:Items>`);
    } catch (error) {
      return failure('GetItem', (error as OperationError).responseCode);
    }
  });
}

/**
 * DeleteAttachment: removes each attachment from its item, which keeps its id, and returns the
 * item as RootItemId.
 */
export function deleteAttachments(mailbox: SimMailbox, request: Node): string[] {
  const ids = asNodes(asNode(request.AttachmentIds)?.AttachmentId).map((node) => attr(node, 'Id') ?? '');
  return ids.map((id) => {
    for (const item of mailbox.items.values()) {
      const index = item.attachments?.findIndex((attachment) => attachment.id === id) ?? -1;
      if (index < 0) {
        continue;
      }
      item.attachments?.splice(index, 1);
      item.modifiedAt = new Date();
      recordChange(mailbox, item.folderId, 'update', item.id);
      return success(
        'DeleteAttachment',
        `<m:RootItemId RootItemId="${esc(item.id)}" RootItemChangeKey="CQAAAB=="/>`,
      );
    }
    return failure('DeleteAttachment', 'ErrorItemNotFound');
  });
}

/** MoveItem: every item gets a new id in the target folder. */
export function moveItems(mailbox: SimMailbox, request: Node): string[] {
  const target = resolveFolder(mailbox, request.ToFolderId);
  const returnIds = textOf(request.ReturnNewItemIds) !== 'false';
  return itemIdsOf(request.ItemIds).map((id) => {
    try {
      const moved = moveItem(mailbox, requireItem(mailbox, id), target.id);
      return success('MoveItem', returnIds ? `<m:Items>${itemXml(moved)}</m:Items>` : '<m:Items/>');
    } catch (error) {
      return failure('MoveItem', (error as OperationError).responseCode);
    }
  });
}

/** DeleteItem with DeleteType MoveToDeletedItems, SoftDelete or HardDelete. */
export function deleteItems(mailbox: SimMailbox, request: Node): string[] {
  const type = attr(request, 'DeleteType');
  return itemIdsOf(request.ItemIds).map((id) => {
    try {
      const item = requireItem(mailbox, id);
      if (type === 'MoveToDeletedItems') {
        const deleted = findFolder(mailbox, { distinguished: 'deleteditems' });
        moveItem(mailbox, item, deleted?.id ?? '');
      } else if (type === 'SoftDelete' || type === 'HardDelete') {
        mailbox.items.delete(item.id);
        recordChange(mailbox, item.folderId, 'delete', item.id);
        (type === 'SoftDelete' ? mailbox.softDeleted : mailbox.hardDeleted).push(item.id);
      } else {
        throw new OperationError('ErrorInvalidRequest');
      }
      return success('DeleteItem', '');
    } catch (error) {
      return failure('DeleteItem', (error as OperationError).responseCode);
    }
  });
}

/** UpdateItem with SetItemField on Categories, Flag and Subject. */
export function updateItems(mailbox: SimMailbox, request: Node): string[] {
  return asNodes(asNode(request.ItemChanges)?.ItemChange).map((change) => {
    try {
      const item = requireItem(mailbox, attr(asNode(change.ItemId), 'Id'));
      for (const set of asNodes(asNode(change.Updates)?.SetItemField)) {
        const field = attr(asNode(set.FieldURI), 'FieldURI');
        const message = asNode(set.Message) ?? {};
        if (field === 'item:Categories') {
          const strings = asNode(message.Categories)?.String;
          item.categories = toList(strings).map((value) => textOf(value) ?? '');
        } else if (field === 'item:Flag') {
          item.flagged = textOf(asNode(message.Flag)?.FlagStatus) === 'Flagged';
        } else if (field === 'item:Subject') {
          item.subject = textOf(message.Subject) ?? '';
        } else {
          throw new OperationError('ErrorInvalidPropertySet');
        }
      }
      item.modifiedAt = new Date();
      recordChange(mailbox, item.folderId, 'update', item.id);
      return success(
        'UpdateItem',
        `<m:Items>${itemXml(item)}</m:Items><m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>`,
      );
    } catch (error) {
      return failure('UpdateItem', (error as OperationError).responseCode);
    }
  });
}

/**
 * CreateItem from MimeContent with SaveOnly. As in Exchange, a message saved this way is a draft
 * unless PR_MESSAGE_FLAGS (0x0E07) is set without MSGFLAG_UNSENT (8).
 */
export function createItems(mailbox: SimMailbox, request: Node): string[] {
  if (attr(request, 'MessageDisposition') !== 'SaveOnly') {
    throw new OperationError('ErrorInvalidRequest');
  }
  const folder = resolveFolder(mailbox, request.SavedItemFolderId);
  return asNodes(asNode(request.Items)?.Message).map((message) => {
    const mime = Buffer.from(textOf(message.MimeContent) ?? '', 'base64');
    let flags: number | undefined;
    for (const property of asNodes(message.ExtendedProperty)) {
      const uri = asNode(property.ExtendedFieldURI);
      if (
        attr(uri, 'PropertyTag')?.toLowerCase() === '0x0e07' &&
        attr(uri, 'PropertyType') === 'Integer'
      ) {
        flags = Number(textOf(property.Value));
      }
    }
    const headers = readMimeHeaders(mime);
    const now = new Date();
    const item: SimItem = {
      id: newEwsId(),
      folderId: folder.id,
      mime,
      subject: headers.subject,
      categories: [],
      flagged: false,
      isDraft: flags === undefined || (flags & 8) !== 0,
      receivedAt: now,
      modifiedAt: now,
      internetMessageId: headers.messageId,
    };
    mailbox.items.set(item.id, item);
    recordChange(mailbox, folder.id, 'create', item.id);
    return success('CreateItem', `<m:Items>${itemXml(item)}</m:Items>`);
  });
}

/** CreateFolder under a parent; PR_ATTR_HIDDEN (0x10F4) true makes it hidden. */
export function createFolders(mailbox: SimMailbox, request: Node): string[] {
  const parent = resolveFolder(mailbox, request.ParentFolderId);
  return asNodes(asNode(request.Folders)?.Folder).map((node) => {
    const displayName = textOf(node.DisplayName) ?? '';
    const exists = [...mailbox.folders.values()].some(
      (folder) =>
        folder.parentId === parent.id &&
        folder.displayName.toLowerCase() === displayName.toLowerCase(),
    );
    if (exists) {
      return failure('CreateFolder', 'ErrorFolderExists');
    }
    let hidden = false;
    for (const property of asNodes(node.ExtendedProperty)) {
      const uri = asNode(property.ExtendedFieldURI);
      if (
        attr(uri, 'PropertyTag')?.toLowerCase() === '0x10f4' &&
        attr(uri, 'PropertyType') === 'Boolean'
      ) {
        hidden = textOf(property.Value) === 'true';
      }
    }
    const folder: SimFolder = {
      id: newEwsId(),
      displayName,
      parentId: parent.id,
      folderClass: 'IPF.Note',
      hidden,
    };
    mailbox.folders.set(folder.id, folder);
    return success('CreateFolder', `<m:Folders>${folderXml(folder)}</m:Folders>`);
  });
}

interface SyncState {
  mailbox: string;
  folderId: string;
  epoch: number;
  /** Change sequence the state has seen up to. */
  seq: number;
  /** During the initial full listing: the last item id returned, in id order. */
  after?: string;
}

function encodeState(state: SyncState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64');
}

function decodeState(mailbox: SimMailbox, folderId: string, text: string): SyncState {
  try {
    const state = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as SyncState;
    if (
      state.mailbox === mailbox.address &&
      state.folderId === folderId &&
      state.epoch === mailbox.syncEpoch
    ) {
      return state;
    }
  } catch {
    // An unreadable state is invalid, as below.
  }
  throw new OperationError('ErrorInvalidSyncStateData');
}

/**
 * SyncFolderItems: without a state, every item of the folder as Create (in id order, so that
 * deletions during the listing cannot shift an item out of it), then the change log.
 */
export function syncFolderItems(mailbox: SimMailbox, request: Node): string {
  const folder = resolveFolder(mailbox, request.SyncFolderId);
  const stateText = textOf(request.SyncState);
  const max = Math.min(Number(textOf(request.MaxChangesReturned) ?? '512'), MAX_SYNC_CHANGES);
  const state: SyncState =
    stateText === undefined || stateText === ''
      ? {
          mailbox: mailbox.address,
          folderId: folder.id,
          epoch: mailbox.syncEpoch,
          seq: mailbox.seq,
          after: '',
        }
      : decodeState(mailbox, folder.id, stateText);
  const changes: string[] = [];
  let next: SyncState;
  let last: boolean;
  if (state.after !== undefined) {
    const remaining = [...mailbox.items.values()]
      .filter((item) => item.folderId === folder.id && item.id > (state.after ?? ''))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const page = remaining.slice(0, max);
    for (const item of page) {
      changes.push(`<t:Create>${itemXml(item)}</t:Create>`);
    }
    const done = page.length === remaining.length;
    next = done ? { ...state, after: undefined } : { ...state, after: page[page.length - 1]?.id };
    last =
      done &&
      !mailbox.changes.some((change) => change.seq > state.seq && change.folderId === folder.id);
  } else {
    const pending = mailbox.changes.filter(
      (change) => change.seq > state.seq && change.folderId === folder.id,
    );
    const batch = pending.slice(0, max);
    for (const change of batch) {
      const item = mailbox.items.get(change.itemId);
      if (change.kind === 'delete') {
        changes.push(
          `<t:Delete><t:ItemId Id="${esc(change.itemId)}" ChangeKey="AQAAAA=="/></t:Delete>`,
        );
      } else if (item !== undefined && item.folderId === folder.id) {
        const tag = change.kind === 'create' ? 'Create' : 'Update';
        changes.push(`<t:${tag}>${itemXml(item)}</t:${tag}>`);
      }
    }
    next = { ...state, seq: batch[batch.length - 1]?.seq ?? state.seq };
    last = batch.length === pending.length;
  }
  return success(
    'SyncFolderItems',
    `<m:SyncState>${encodeState(next)}</m:SyncState><m:IncludesLastItemInRange>${last}</m:IncludesLastItemInRange>` +
      `<m:Changes>${changes.join('')}</m:Changes>`,
  );
}
