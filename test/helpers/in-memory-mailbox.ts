import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';

import type {
  DeleteMode,
  FolderListing,
  FolderRef,
  FolderSyncResult,
  ImportedMessage,
  ListMessagesOptions,
  MailboxClient,
  MailboxMessageRef,
  MessageImporting,
  MessageTag,
  MimeDownload,
} from '../../src/mailbox/mailbox-client.js';
import { ScannerError } from '../../src/shared/errors.js';

/** One stored item of the in-memory mailbox. */
export interface StoredMessage {
  id: string;
  folderId: string;
  raw: Buffer;
  internetMessageId?: string;
  receivedAt: string;
  isDraft: boolean;
  categories: string[];
  flagged: boolean;
}

/** A fault the next matching call throws or causes, consumed once. */
export type Fault =
  | { method: MailboxMethod; error: ScannerError }
  /** getMime returns only the first `bytes` bytes, with the full size declared. */
  | { method: 'getMime'; truncateTo: number };

/** A method of the fake that a fault can target. */
export type MailboxMethod = keyof MailboxClient | 'importMessage';

interface MailboxState {
  folders: Map<string, { displayName: string; hidden: boolean }>;
  messages: Map<string, StoredMessage>;
  /** Change log per folder: every id created there, in order. */
  changes: Map<string, string[]>;
}

const WELL_KNOWN = ['inbox', 'junkemail', 'deleteditems', 'sentitems', 'recoverableitems'] as const;

/**
 * A MailboxClient that keeps mailboxes in memory and behaves like Exchange where the scan consumers
 * care: a move gives the item a new id and the old id fails with `mailbox-not-found`, folders include
 * hidden ones, drafts exist, and `syncFolder` returns changes since an opaque state. Faults are
 * queued with {@link InMemoryMailbox.failNext}; every call is counted in `calls`.
 */
export class InMemoryMailbox implements MailboxClient, MessageImporting {
  readonly calls: { method: string; mailbox: string; id?: string }[] = [];
  private readonly mailboxes = new Map<string, MailboxState>();
  private readonly faults: Fault[] = [];
  /** States that syncFolder rejects with `mailbox-request-failed`, as an expired delta link. */
  readonly rejectedStates = new Set<string>();

  /** Adds a message to a folder (Inbox by default) and returns its id. */
  deliver(mailbox: string, raw: Buffer, options: Partial<Omit<StoredMessage, 'raw' | 'id'>> & { folder?: string } = {}): string {
    const state = this.mailbox(mailbox);
    const folderId = options.folderId ?? this.folderIdOf(options.folder ?? 'inbox');
    const id = `msg-${randomUUID()}`;
    state.messages.set(id, {
      id,
      folderId,
      raw,
      internetMessageId: options.internetMessageId,
      receivedAt: options.receivedAt ?? new Date().toISOString(),
      isDraft: options.isDraft ?? false,
      categories: [],
      flagged: false,
    });
    this.logChange(state, folderId, id);
    return id;
  }

  /** Queues a fault for the next call of a method. */
  failNext(fault: Fault): void {
    this.faults.push(fault);
  }

  /** Returns a stored message, or undefined when the id is gone. */
  find(mailbox: string, id: string): StoredMessage | undefined {
    return this.mailbox(mailbox).messages.get(id);
  }

  /** Returns every message of a folder. */
  messagesIn(mailbox: string, folderId: string): StoredMessage[] {
    return [...this.mailbox(mailbox).messages.values()].filter((message) => message.folderId === folderId);
  }

  /** Returns the id of a folder by well-known name or display name, if it exists. */
  folderIdByName(mailbox: string, displayName: string): string | undefined {
    for (const [id, folder] of this.mailbox(mailbox).folders) {
      if (folder.displayName === displayName) {
        return id;
      }
    }
    return undefined;
  }

  /** Id of a well-known folder; the same in every mailbox of this fake. */
  folderIdOf(wellKnown: string): string {
    return `folder-${wellKnown}`;
  }

  /** Number of calls of one method. */
  count(method: MailboxMethod): number {
    return this.calls.filter((call) => call.method === method).length;
  }

  async *listMessages(mailbox: string, options: ListMessagesOptions = {}): AsyncIterable<MailboxMessageRef> {
    this.enter('listMessages', mailbox);
    const folderId = options.folder === undefined ? undefined : this.resolve(mailbox, options.folder);
    const items = [...this.mailbox(mailbox).messages.values()]
      .filter((message) => folderId === undefined || message.folderId === folderId)
      .filter((message) => options.receivedAfter === undefined || Date.parse(message.receivedAt) >= options.receivedAfter.getTime())
      .filter((message) => options.receivedBefore === undefined || Date.parse(message.receivedAt) < options.receivedBefore.getTime())
      .sort((a, b) => Date.parse(b.receivedAt) - Date.parse(a.receivedAt));
    for (const item of items) {
      yield toRef(item);
    }
  }

  async listFolders(mailbox: string, options: { includeRecoverableItems?: boolean } = {}): Promise<FolderListing> {
    this.enter('listFolders', mailbox);
    const folders = [...this.mailbox(mailbox).folders]
      .filter(([id, folder]) => !folder.hidden && (options.includeRecoverableItems === true || id !== this.folderIdOf('recoverableitems')))
      .map(([id, folder]) => ({
        id,
        displayName: folder.displayName,
        path: folder.displayName,
        kind: id === this.folderIdOf('recoverableitems') ? ('recoverable-items' as const) : ('mail' as const),
      }));
    return { folders, unreachable: [] };
  }

  async syncFolder(mailbox: string, folder: FolderRef, state?: string): Promise<FolderSyncResult> {
    this.enter('syncFolder', mailbox);
    if (state !== undefined && this.rejectedStates.has(state)) {
      throw new ScannerError('mailbox-request-failed', 'The sync state is no longer valid');
    }
    const folderId = this.resolve(mailbox, folder);
    const log = this.mailbox(mailbox).changes.get(folderId) ?? [];
    const position = state === undefined ? 0 : Number(state.split(':')[1]);
    const ids = state === undefined ? [...this.mailbox(mailbox).messages.values()].filter((m) => m.folderId === folderId).map((m) => m.id) : log.slice(position);
    const changed = ids.flatMap((id) => {
      const message = this.mailbox(mailbox).messages.get(id);
      return message !== undefined && message.folderId === folderId ? [toRef(message)] : [];
    });
    return { changed, removedIds: [], state: `${folderId}:${log.length}` };
  }

  async getMessage(mailbox: string, id: string): Promise<MailboxMessageRef> {
    this.enter('getMessage', mailbox, id);
    return toRef(this.require(mailbox, id));
  }

  async getMime(mailbox: string, id: string): Promise<MimeDownload> {
    const fault = this.enter('getMime', mailbox, id);
    const message = this.require(mailbox, id);
    if (fault !== undefined && 'truncateTo' in fault) {
      return { stream: Readable.from([message.raw.subarray(0, fault.truncateTo)]), declaredBytes: message.raw.length };
    }
    return { stream: Readable.from([message.raw]), declaredBytes: message.raw.length };
  }

  async moveMessage(mailbox: string, id: string, destination: FolderRef): Promise<string> {
    this.enter('moveMessage', mailbox, id);
    const state = this.mailbox(mailbox);
    const message = this.require(mailbox, id);
    const folderId = this.resolve(mailbox, destination);
    state.messages.delete(id);
    const moved = { ...message, id: `msg-${randomUUID()}`, folderId };
    state.messages.set(moved.id, moved);
    this.logChange(state, folderId, moved.id);
    return moved.id;
  }

  /**
   * Creates a received message from MIME, byte for byte as EWS CreateItem with PR_MESSAGE_FLAGS
   * does. The internet message id comes from the Message-ID header, as Exchange reads it.
   */
  async importMessage(mailbox: string, folder: FolderRef, mime: Buffer): Promise<ImportedMessage> {
    this.enter('importMessage', mailbox);
    const folderId = this.resolve(mailbox, folder);
    const header = /^Message-ID:[ \t]*(<[^>\r\n]*>)/im.exec(mime.toString('latin1'));
    const id = this.deliver(mailbox, Buffer.from(mime), { folderId, internetMessageId: header?.[1] });
    return { id, preservesMime: true };
  }

  async deleteMessage(mailbox: string, id: string, mode: DeleteMode): Promise<void> {
    this.enter('deleteMessage', mailbox, id);
    const state = this.mailbox(mailbox);
    const message = this.require(mailbox, id);
    state.messages.delete(id);
    if (mode === 'deleted-items') {
      const moved = { ...message, id: `msg-${randomUUID()}`, folderId: this.folderIdOf('deleteditems') };
      state.messages.set(moved.id, moved);
    }
  }

  async tagMessage(mailbox: string, id: string, tag: MessageTag): Promise<void> {
    this.enter('tagMessage', mailbox, id);
    const message = this.require(mailbox, id);
    message.categories = [...new Set([...message.categories, ...tag.categories])];
    message.flagged = message.flagged || tag.flag === true;
  }

  async ensureHiddenFolder(mailbox: string, displayName: string): Promise<string> {
    this.enter('ensureHiddenFolder', mailbox);
    const existing = this.folderIdByName(mailbox, displayName);
    if (existing !== undefined) {
      return existing;
    }
    const id = `folder-${randomUUID()}`;
    this.mailbox(mailbox).folders.set(id, { displayName, hidden: true });
    return id;
  }

  /** Tells whether a folder was created hidden. */
  isHidden(mailbox: string, folderId: string): boolean {
    return this.mailbox(mailbox).folders.get(folderId)?.hidden === true;
  }

  private enter(method: MailboxMethod, mailbox: string, id?: string): Fault | undefined {
    this.calls.push({ method, mailbox, id });
    const index = this.faults.findIndex((fault) => fault.method === method);
    if (index < 0) {
      return undefined;
    }
    const [fault] = this.faults.splice(index, 1);
    if (fault !== undefined && 'error' in fault) {
      throw fault.error;
    }
    return fault;
  }

  private mailbox(mailbox: string): MailboxState {
    const key = mailbox.toLowerCase();
    let state = this.mailboxes.get(key);
    if (state === undefined) {
      state = { folders: new Map(), messages: new Map(), changes: new Map() };
      for (const name of WELL_KNOWN) {
        state.folders.set(this.folderIdOf(name), { displayName: name, hidden: name === 'recoverableitems' });
      }
      this.mailboxes.set(key, state);
    }
    return state;
  }

  private require(mailbox: string, id: string): StoredMessage {
    const message = this.mailbox(mailbox).messages.get(id);
    if (message === undefined) {
      throw new ScannerError('mailbox-not-found', 'The item was not found', { fields: { status: 404 } });
    }
    return message;
  }

  private resolve(mailbox: string, folder: FolderRef): string {
    const id = 'wellKnown' in folder ? this.folderIdOf(folder.wellKnown) : folder.folderId;
    if (!this.mailbox(mailbox).folders.has(id)) {
      throw new ScannerError('mailbox-not-found', 'The folder was not found');
    }
    return id;
  }

  private logChange(state: MailboxState, folderId: string, id: string): void {
    const log = state.changes.get(folderId) ?? [];
    log.push(id);
    state.changes.set(folderId, log);
  }
}

function toRef(message: StoredMessage): MailboxMessageRef {
  return {
    id: message.id,
    internetMessageId: message.internetMessageId,
    folderId: message.folderId,
    receivedAt: message.receivedAt,
    sizeBytes: message.raw.length,
    isDraft: message.isDraft,
  };
}
