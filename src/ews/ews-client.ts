import { pickAttachment } from '../mailbox/attachment-match.js';
import type {
  AttachmentRemoving,
  AttachmentTarget,
  DeleteMode,
  FolderListing,
  FolderRef,
  FolderSyncResult,
  ListFoldersOptions,
  ImportedMessage,
  ListMessagesOptions,
  MailboxClient,
  MailboxMessageRef,
  MailboxName,
  MessageImporting,
  MessageTag,
  MimeDownload,
  StoreAttachment,
} from '../mailbox/mailbox-client.js';
import { DEFAULT_RETRY_OPTIONS, type RetryOptions } from '../graph/retry-policy.js';
import { ScannerError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import { listFolders, listFolderTree, syncFolderItems } from './ews-folders.js';
import type { EwsAuth } from './ews-http.js';
import { decodeBase64Stream, decodedBase64Length } from './ews-mime.js';
import {
  expectSuccess,
  firstItemId,
  folderElement,
  itemIds,
  itemNodes,
  itemShape,
  restriction,
  toMessageRef,
  type Comparison,
} from './ews-shapes.js';
import { EwsTransport, type EwsCall } from './ews-transport.js';
import { attribute, child, children, text, texts, type XmlNode } from './ews-xml.js';

/** EWS returns at most this many items per page of a FindItem with a restriction. */
export const EWS_MAX_RESTRICTED_PAGE = 250;

/** Pages followed in one listing before giving up, so a server that never ends cannot loop. */
export const MAX_EWS_PAGES = 100_000;

/** Largest EWS response read: a 150 MB message as base64 plus the envelope. */
export const MAX_EWS_RESPONSE_BYTES = 256 * 1024 * 1024;

/** PR_MESSAGE_FLAGS (0x0E07) with MSGFLAG_READ (1) and without MSGFLAG_UNSENT: not a draft. */
const MESSAGE_FLAGS_TAG = '0x0E07';
/** PR_ATTR_HIDDEN (0x10F4): Outlook does not show a folder with this set. */
const ATTR_HIDDEN_TAG = '0x10F4';

/** Options for EwsClient. */
export interface EwsClientOptions {
  /** EWS endpoint, e.g. `https://mail.contoso.com/EWS/Exchange.asmx`; must be https. */
  url: string;
  auth: EwsAuth;
  /** Requests in flight at once to the server; default 10. */
  maxConcurrency?: number;
  /** Retries; default DEFAULT_RETRY_OPTIONS. */
  retry?: Partial<RetryOptions>;
  /** Milliseconds a connection may stay silent, also mid-body; default 120,000. */
  idleTimeoutMs?: number;
  /** Extra trusted CA in PEM, for a private server such as the test simulator. */
  ca?: string;
  /** Default silentLogger. */
  logger?: Logger;
  /**
   * A MIME download shorter than this share of the item's Size (less 64 KiB of slack) counts as
   * incomplete; default 0.75.
   */
  minMimeToSizeRatio?: number;
}

/**
 * Exchange Server 2013 to 2019 over EWS (SOAP 1.1): mailbox access by ExchangeImpersonation of
 * each mailbox, with a per-server concurrency limit and retries for ErrorServerBusy. Every
 * method throws ScannerError with the codes listed on MailboxClient.
 * @see https://learn.microsoft.com/exchange/client-developer/web-service-reference/ews-operations-in-exchange
 */
export class EwsClient implements MailboxClient, AttachmentRemoving, MessageImporting {
  private readonly transport: EwsTransport;
  private readonly logger: Logger;
  private readonly minMimeToSizeRatio: number;

  constructor(options: EwsClientOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'https:') {
      throw new ScannerError('config-invalid', 'The EWS URL must start with https://', {
        fields: { setting: 'MAILSWEEP_EWS_URL' },
      });
    }
    this.logger = options.logger ?? silentLogger;
    this.minMimeToSizeRatio = options.minMimeToSizeRatio ?? 0.75;
    this.transport = new EwsTransport({
      url,
      auth: options.auth,
      maxConcurrency: options.maxConcurrency ?? 10,
      retry: { ...DEFAULT_RETRY_OPTIONS, ...options.retry },
      idleTimeoutMs: options.idleTimeoutMs ?? 120_000,
      maxResponseBytes: MAX_EWS_RESPONSE_BYTES,
      ca: options.ca,
      logger: this.logger,
    });
  }

  /** Requests in flight to the server now, for tests and status. */
  get activeRequests(): number {
    return this.transport.activeRequests;
  }

  /** The transport, shared with EWS operations kept in modules of their own (push, ews-push.ts). */
  get soapTransport(): EwsTransport {
    return this.transport;
  }

  /**
   * Lists messages newest first, in one folder or in every mail folder of the mailbox. Pages are
   * read by time rather than by offset: each page requests items received at or before the last
   * one seen, and skips those already returned, so items that arrive or go during the listing
   * never shift an unread item past a page boundary.
   */
  async *listMessages(
    mailbox: MailboxName,
    options: ListMessagesOptions = {},
  ): AsyncIterable<MailboxMessageRef> {
    const folders: FolderRef[] =
      options.folder === undefined
        ? (await listFolders(this.transport, mailbox)).map((folderId) => ({ folderId }))
        : [options.folder];
    for (const folder of folders) {
      yield* this.listFolder(mailbox, folder, options);
    }
  }

  /**
   * Lists the mail folders under msgfolderroot and, when asked, under archivemsgfolderroot and
   * recoverableitemsroot (FindFolder, Deep). A mailbox without an archive (ErrorFolderNotFound on
   * its root) has no archive folders; that is not an error.
   */
  async listFolders(mailbox: MailboxName, options: ListFoldersOptions = {}): Promise<FolderListing> {
    const folders = await listFolderTree(this.transport, mailbox, 'mail');
    if (options.includeArchive === true) {
      try {
        folders.push(...(await listFolderTree(this.transport, mailbox, 'archive')));
      } catch (error) {
        if (!(error instanceof ScannerError && error.code === 'mailbox-not-found')) {
          throw error;
        }
      }
    }
    if (options.includeRecoverableItems === true) {
      folders.push(...(await listFolderTree(this.transport, mailbox, 'recoverable-items')));
    }
    return { folders, unreachable: [] };
  }

  /**
   * Runs SyncFolderItems from the state until IncludesLastItemInRange. A state Exchange no longer
   * accepts (ErrorInvalidSyncStateData) starts a full sync with `resynced: true`.
   * @see https://learn.microsoft.com/exchange/client-developer/web-service-reference/syncfolderitems-operation
   */
  async syncFolder(
    mailbox: MailboxName,
    folder: FolderRef,
    state?: string,
  ): Promise<FolderSyncResult> {
    if (state !== undefined) {
      try {
        return await syncFolderItems(this.transport, mailbox, folder, state);
      } catch (error) {
        if (
          !(error instanceof ScannerError) ||
          error.fields.ewsCode !== 'ErrorInvalidSyncStateData'
        ) {
          throw error;
        }
        this.logger.info('EWS sync state is no longer valid; running a full sync', {
          operation: 'sync-folder',
        });
      }
      const full = await syncFolderItems(this.transport, mailbox, folder, undefined);
      return { ...full, resynced: true };
    }
    return syncFolderItems(this.transport, mailbox, folder, undefined);
  }

  /** Reads one message's properties. */
  async getMessage(mailbox: MailboxName, id: string): Promise<MailboxMessageRef> {
    const message = await this.callOne({
      operation: 'get-message',
      mailbox,
      body: { 'm:GetItem': { 'm:ItemShape': itemShape(), 'm:ItemIds': itemIds(id) } },
    });
    const item = itemNodes(child(message, 'Items'))[0];
    if (item === undefined) {
      throw new ScannerError('mailbox-not-found', 'EWS GetItem returned no item', {
        fields: { operation: 'get-message' },
      });
    }
    return toMessageRef(item, 'get-message');
  }

  /**
   * Streams the MIME from GetItem with IncludeMimeContent. The base64 is decoded in chunks from
   * the response buffer. Exchange has been seen to return only part of the MIME of messages over
   * about 20 MB, so a MIME far shorter than the item's Size fails with `mailbox-unavailable`.
   */
  async getMime(mailbox: MailboxName, id: string): Promise<MimeDownload> {
    const result = await this.transport.call({
      operation: 'get-mime',
      mailbox,
      extractMimeContent: true,
      body: {
        'm:GetItem': {
          'm:ItemShape': itemShape({ mime: true, fields: ['item:Size'] }),
          'm:ItemIds': itemIds(id),
        },
      },
    });
    const message = expectSuccess(result.messages, 'get-mime');
    const item = itemNodes(child(message, 'Items'))[0];
    if (item === undefined) {
      throw new ScannerError('mailbox-not-found', 'EWS GetItem returned no item', {
        fields: { operation: 'get-mime' },
      });
    }
    const base64 = result.mimeBase64;
    if (base64 === undefined || base64.length === 0) {
      throw new ScannerError('mailbox-unavailable', 'EWS returned no MimeContent', {
        fields: { operation: 'get-mime' },
      });
    }
    const mimeBytes = decodedBase64Length(base64);
    const sizeText = text(item, 'Size');
    const itemSize =
      sizeText !== undefined && /^\d{1,15}$/.test(sizeText) ? Number(sizeText) : undefined;
    // NOTE: Size is the store's size of the item, which is not the MIME length (properties add to
    // it, base64 attachments add to the MIME). The ratio and slack are estimates that catch a MIME
    // cut to a fraction of the message; a smaller loss is left to the MIME parser's check for the
    // final boundary.
    if (itemSize !== undefined && mimeBytes + 64 * 1024 < itemSize * this.minMimeToSizeRatio) {
      throw new ScannerError('mailbox-unavailable', 'EWS returned an incomplete MIME', {
        fields: { operation: 'get-mime', receivedBytes: mimeBytes, itemSizeBytes: itemSize },
      });
    }
    return { stream: decodeBase64Stream(base64), declaredBytes: mimeBytes };
  }

  /** Moves a message with MoveItem and returns the new ItemId Exchange gives it. */
  async moveMessage(mailbox: MailboxName, id: string, destination: FolderRef): Promise<string> {
    const message = await this.callOne({
      operation: 'move-message',
      mailbox,
      body: {
        'm:MoveItem': {
          'm:ToFolderId': folderElement(destination),
          'm:ItemIds': itemIds(id),
          'm:ReturnNewItemIds': 'true',
        },
      },
    });
    return firstItemId(message, 'move-message');
  }

  /**
   * Deletes a message: `deleted-items` is MoveToDeletedItems, `soft` is SoftDelete (to
   * Recoverable Items), `hard` is HardDelete (purged, subject to retention holds).
   */
  async deleteMessage(mailbox: MailboxName, id: string, mode: DeleteMode): Promise<void> {
    const deleteType =
      mode === 'deleted-items'
        ? 'MoveToDeletedItems'
        : mode === 'soft'
          ? 'SoftDelete'
          : 'HardDelete';
    await this.callOne({
      operation: 'delete-message',
      mailbox,
      body: { 'm:DeleteItem': { '@_DeleteType': deleteType, 'm:ItemIds': itemIds(id) } },
    });
  }

  /** Adds categories to those the message has, and flags it when asked, with UpdateItem. */
  async tagMessage(mailbox: MailboxName, id: string, tag: MessageTag): Promise<void> {
    const current = await this.readItem(mailbox, id, ['item:Categories'], 'tag-message');
    const existing = texts(child(current, 'Categories'), 'String');
    const categories = [...new Set([...existing, ...tag.categories])].filter(
      (category) => category.length > 0,
    );
    const updates: XmlNode[] = [
      {
        't:FieldURI': { '@_FieldURI': 'item:Categories' },
        't:Message': { 't:Categories': { 't:String': categories } },
      },
    ];
    if (tag.flag === true) {
      updates.push({
        't:FieldURI': { '@_FieldURI': 'item:Flag' },
        't:Message': { 't:Flag': { 't:FlagStatus': 'Flagged' } },
      });
    }
    await this.updateItem(mailbox, id, updates, 'tag-message');
  }

  /**
   * Puts a prefix before a message's subject, unless the subject already starts with it. Unlike
   * Graph, EWS can change the subject of a received message.
   */
  async prefixSubject(mailbox: MailboxName, id: string, prefix: string): Promise<void> {
    const current = await this.readItem(mailbox, id, ['item:Subject'], 'prefix-subject');
    const subject = text(current, 'Subject') ?? '';
    if (subject.startsWith(prefix)) {
      return;
    }
    await this.updateItem(
      mailbox,
      id,
      [
        {
          't:FieldURI': { '@_FieldURI': 'item:Subject' },
          't:Message': { 't:Subject': `${prefix}${subject}` },
        },
      ],
      'prefix-subject',
    );
  }

  /**
   * Reads the message's attachments with GetItem and deletes the one that matches `target` with
   * DeleteAttachment. The item keeps its id; only its change key changes.
   * @see https://learn.microsoft.com/exchange/client-developer/web-service-reference/deleteattachment-operation
   */
  async removeAttachment(
    mailbox: MailboxName,
    id: string,
    target: AttachmentTarget,
  ): Promise<'removed' | 'not-found'> {
    const item = await this.readItem(mailbox, id, ['item:Attachments'], 'remove-attachment');
    const holder = child(item, 'Attachments');
    const files = children(holder, 'FileAttachment').map(toStoreAttachment);
    const items = children(holder, 'ItemAttachment').map(toStoreAttachment);
    // The XML parser groups file and item attachments by element name and loses their
    // interleaving, so with both kinds present only a match by name is certain.
    const listed = [...files, ...items].filter((attachment) => attachment.id !== '');
    const mixed = files.length > 0 && items.length > 0;
    const match = pickAttachment(listed, mixed ? { ...target, count: -1 } : target);
    if (match === undefined) {
      return 'not-found';
    }
    await this.callOne({
      operation: 'remove-attachment',
      mailbox,
      body: {
        'm:DeleteAttachment': { 'm:AttachmentIds': { 't:AttachmentId': { '@_Id': match.id } } },
      },
    });
    return 'removed';
  }

  /**
   * Creates a message from MIME in a folder (release from quarantine) and returns its id. The
   * message is saved, not sent, and PR_MESSAGE_FLAGS is set to read so that Exchange does not
   * mark it as a draft.
   */
  async createMessageFromMime(
    mailbox: MailboxName,
    folder: FolderRef,
    mime: Buffer,
  ): Promise<string> {
    const message = await this.callOne({
      operation: 'create-message',
      mailbox,
      body: {
        'm:CreateItem': {
          '@_MessageDisposition': 'SaveOnly',
          'm:SavedItemFolderId': folderElement(folder),
          'm:Items': {
            't:Message': {
              't:MimeContent': { '@_CharacterSet': 'UTF-8', '#text': mime.toString('base64') },
              't:ExtendedProperty': {
                't:ExtendedFieldURI': {
                  '@_PropertyTag': MESSAGE_FLAGS_TAG,
                  '@_PropertyType': 'Integer',
                },
                't:Value': '1',
              },
            },
          },
        },
      },
    });
    return firstItemId(message, 'create-message');
  }

  /** Imports a message for release: CreateItem keeps the MIME byte for byte (see above). */
  async importMessage(
    mailbox: MailboxName,
    folder: FolderRef,
    mime: Buffer,
  ): Promise<ImportedMessage> {
    return { id: await this.createMessageFromMime(mailbox, folder, mime), preservesMime: true };
  }

  /**
   * Returns the id of a folder under the mailbox root with this display name, creating it with
   * PR_ATTR_HIDDEN set when missing. An existing visible folder of that name is used as it is,
   * with a warning.
   */
  async ensureHiddenFolder(mailbox: MailboxName, displayName: string): Promise<string> {
    const found = await this.findRootFolder(mailbox, displayName);
    if (found !== undefined) {
      return found;
    }
    const result = await this.transport.call({
      operation: 'create-folder',
      mailbox,
      body: {
        'm:CreateFolder': {
          'm:ParentFolderId': folderElement({ distinguished: 'msgfolderroot' }),
          'm:Folders': {
            't:Folder': {
              't:DisplayName': displayName,
              't:ExtendedProperty': {
                't:ExtendedFieldURI': {
                  '@_PropertyTag': ATTR_HIDDEN_TAG,
                  '@_PropertyType': 'Boolean',
                },
                't:Value': 'true',
              },
            },
          },
        },
      },
    });
    const first = result.messages[0];
    if (first?.responseCode === 'ErrorFolderExists') {
      // Another instance created it between the lookup and CreateFolder.
      const again = await this.findRootFolder(mailbox, displayName);
      if (again !== undefined) {
        return again;
      }
    }
    const message = expectSuccess(result.messages, 'create-folder');
    const id = attribute(child(children(child(message, 'Folders'), 'Folder')[0], 'FolderId'), 'Id');
    if (id === undefined) {
      throw new ScannerError('mailbox-request-failed', 'EWS CreateFolder returned no FolderId', {
        fields: { operation: 'create-folder' },
      });
    }
    return id;
  }

  /** Closes idle connections; the client must not be used afterwards. */
  close(): void {
    this.transport.close();
  }

  private async *listFolder(
    mailbox: MailboxName,
    folder: FolderRef,
    options: ListMessagesOptions,
  ): AsyncIterable<MailboxMessageRef> {
    const pageSize = Math.min(options.pageSize ?? EWS_MAX_RESTRICTED_PAGE, EWS_MAX_RESTRICTED_PAGE);
    const base: Comparison[] = [];
    if (options.receivedAfter !== undefined) {
      base.push({
        operator: 'IsGreaterThanOrEqualTo',
        fieldUri: 'item:DateTimeReceived',
        value: options.receivedAfter.toISOString(),
      });
    }
    if (options.receivedBefore !== undefined) {
      base.push({
        operator: 'IsLessThan',
        fieldUri: 'item:DateTimeReceived',
        value: options.receivedBefore.toISOString(),
      });
    }
    if (options.modifiedAfter !== undefined) {
      base.push({
        operator: 'IsGreaterThanOrEqualTo',
        fieldUri: 'item:LastModifiedTime',
        value: options.modifiedAfter.toISOString(),
      });
    }
    // Keyset paging: `boundary` is the receive time of the oldest item returned so far, and
    // `seenAtBoundary` the ids returned with exactly that time. `tieOffset` moves through a run
    // of items sharing one receive time that is longer than a page.
    let boundary: string | undefined;
    let seenAtBoundary = new Set<string>();
    let tieOffset = 0;
    for (let pages = 0; pages < MAX_EWS_PAGES; pages += 1) {
      const comparisons =
        boundary === undefined
          ? base
          : [
              ...base,
              {
                operator: 'IsLessThanOrEqualTo' as const,
                fieldUri: 'item:DateTimeReceived',
                value: boundary,
              },
            ];
      const page = await this.findItemPage(mailbox, folder, comparisons, pageSize, tieOffset);
      for (const item of page.items) {
        if (item.receivedAt === boundary && seenAtBoundary.has(item.id)) {
          continue;
        }
        yield item;
      }
      if (page.last || page.items.length === 0) {
        return;
      }
      const oldest = page.items[page.items.length - 1]?.receivedAt;
      if (oldest === undefined || oldest === boundary) {
        // The whole page shares the boundary time (or has none): step through it by offset.
        tieOffset += page.items.length;
        for (const item of page.items) {
          seenAtBoundary.add(item.id);
        }
        continue;
      }
      boundary = oldest;
      tieOffset = 0;
      seenAtBoundary = new Set(
        page.items.filter((item) => item.receivedAt === oldest).map((item) => item.id),
      );
    }
    throw new ScannerError(
      'mailbox-request-failed',
      `EWS listing exceeded ${MAX_EWS_PAGES} pages`,
      {
        fields: { operation: 'list-messages' },
      },
    );
  }

  private async findItemPage(
    mailbox: MailboxName,
    folder: FolderRef,
    comparisons: Comparison[],
    pageSize: number,
    offset: number,
  ): Promise<{ items: MailboxMessageRef[]; last: boolean }> {
    const findItem: XmlNode = {
      '@_Traversal': 'Shallow',
      'm:ItemShape': itemShape(),
      'm:IndexedPageItemView': {
        '@_MaxEntriesReturned': String(pageSize),
        '@_Offset': String(offset),
        '@_BasePoint': 'Beginning',
      },
    };
    const filter = restriction(comparisons);
    if (filter !== undefined) {
      findItem['m:Restriction'] = filter;
    }
    findItem['m:SortOrder'] = {
      't:FieldOrder': {
        '@_Order': 'Descending',
        't:FieldURI': { '@_FieldURI': 'item:DateTimeReceived' },
      },
    };
    findItem['m:ParentFolderIds'] = folderElement(folder);
    const message = await this.callOne({
      operation: 'list-messages',
      mailbox,
      body: { 'm:FindItem': findItem },
    });
    const root = child(message, 'RootFolder');
    const items = itemNodes(child(root, 'Items')).map((node) =>
      toMessageRef(node, 'list-messages'),
    );
    return { items, last: attribute(root, 'IncludesLastItemInRange') !== 'false' };
  }

  private async readItem(
    mailbox: MailboxName,
    id: string,
    fields: string[],
    operation: string,
  ): Promise<XmlNode> {
    const message = await this.callOne({
      operation,
      mailbox,
      body: { 'm:GetItem': { 'm:ItemShape': itemShape({ fields }), 'm:ItemIds': itemIds(id) } },
    });
    const item = itemNodes(child(message, 'Items'))[0];
    if (item === undefined) {
      throw new ScannerError('mailbox-not-found', 'EWS GetItem returned no item', {
        fields: { operation },
      });
    }
    return item;
  }

  private async updateItem(
    mailbox: MailboxName,
    id: string,
    updates: XmlNode[],
    operation: string,
  ): Promise<void> {
    await this.callOne({
      operation,
      mailbox,
      body: {
        'm:UpdateItem': {
          '@_MessageDisposition': 'SaveOnly',
          '@_ConflictResolution': 'AlwaysOverwrite',
          'm:ItemChanges': {
            't:ItemChange': {
              't:ItemId': { '@_Id': id },
              't:Updates': { 't:SetItemField': updates },
            },
          },
        },
      },
    });
  }

  private async findRootFolder(
    mailbox: MailboxName,
    displayName: string,
  ): Promise<string | undefined> {
    const message = await this.callOne({
      operation: 'find-folder',
      mailbox,
      body: {
        'm:FindFolder': {
          '@_Traversal': 'Shallow',
          'm:FolderShape': {
            't:BaseShape': 'IdOnly',
            't:AdditionalProperties': {
              't:FieldURI': { '@_FieldURI': 'folder:DisplayName' },
              't:ExtendedFieldURI': {
                '@_PropertyTag': ATTR_HIDDEN_TAG,
                '@_PropertyType': 'Boolean',
              },
            },
          },
          'm:ParentFolderIds': folderElement({ distinguished: 'msgfolderroot' }),
        },
      },
    });
    const expected = displayName.toLowerCase();
    for (const folder of children(child(child(message, 'RootFolder'), 'Folders'), 'Folder')) {
      if ((text(folder, 'DisplayName') ?? '').toLowerCase() !== expected) {
        continue;
      }
      const hidden = children(folder, 'ExtendedProperty').some(
        (property) => text(property, 'Value') === 'true',
      );
      if (!hidden) {
        this.logger.warn('Quarantine folder exists but is not hidden', {
          operation: 'find-folder',
        });
      }
      const id = attribute(child(folder, 'FolderId'), 'Id');
      if (id !== undefined) {
        return id;
      }
    }
    return undefined;
  }

  private async callOne(call: EwsCall): Promise<XmlNode> {
    const result = await this.transport.call(call);
    return expectSuccess(result.messages, call.operation);
  }
}

function toStoreAttachment(node: XmlNode): StoreAttachment {
  return {
    id: attribute(child(node, 'AttachmentId'), 'Id') ?? '',
    name: text(node, 'Name') ?? '',
    contentType: text(node, 'ContentType'),
  };
}
