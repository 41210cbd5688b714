import type { Readable } from 'node:stream';

/**
 * The seam between the scanners and the mail stores. The Graph client (Exchange Online) and the
 * EWS client (Exchange Server on premises) both implement MailboxClient, so that a scan does not
 * care where a mailbox lives.
 *
 * Every method throws ScannerError: `mailbox-not-found` for an item or folder that is gone,
 * `mailbox-on-premises` for a mailbox the service cannot reach (hybrid routing sends it to EWS),
 * `mailbox-throttled` and `mailbox-unavailable` (transient) once retries are spent, and
 * `mailbox-request-failed` for any other permanent refusal. Messages never carry mail content,
 * tokens or secrets.
 */

/** A mailbox, named by its primary SMTP address or, for Graph, its user id. */
export type MailboxName = string;

/** Folders every Exchange mailbox has, by their well-known names. */
export type WellKnownFolder = 'inbox' | 'junkemail' | 'deleteditems' | 'sentitems';

/** A folder named either by a well-known name or by the store's folder id. */
export type FolderRef = { wellKnown: WellKnownFolder } | { folderId: string };

/** Properties of one message from a listing or a sync, without its content. */
export interface MailboxMessageRef {
  /** The store's id for the item. Graph and EWS both change it when the item moves. */
  id: string;
  /** RFC 5322 Message-ID, when the store reports one. */
  internetMessageId?: string;
  /** Id of the folder holding the item. */
  folderId?: string;
  /** ISO 8601 time the store received the item. */
  receivedAt?: string;
  /** Size the store reports, in bytes. */
  sizeBytes?: number;
  /** Drafts are never scanned or acted on. */
  isDraft?: boolean;
}

/** Options for a listing over a time window, newest first. */
export interface ListMessagesOptions {
  folder?: FolderRef;
  /** Only items received at or after this time. */
  receivedAfter?: Date;
  /** Only items received before this time. */
  receivedBefore?: Date;
  /** Only items last modified at or after this time (EWS LastModifiedTime, Graph lastModifiedDateTime). */
  modifiedAfter?: Date;
  /** Items per page requested from the service. */
  pageSize?: number;
}

/**
 * Location of a folder: the primary mailbox's mail folders, the archive mailbox (EWS
 * archivemsgfolderroot), or the Recoverable Items folders (EWS recoverableitemsroot, Graph's
 * `recoverableitemsdeletions` well-known folder).
 */
export type FolderKind = 'mail' | 'archive' | 'recoverable-items';

/** One mail folder of a mailbox. */
export interface MailboxFolder {
  id: string;
  displayName: string;
  /** Display names from the top of the folder's tree, joined by `/` (`Inbox/Projects`). */
  path: string;
  kind: FolderKind;
  /** Well-known (Graph) or distinguished (EWS) name, when the store reports one. */
  wellKnownName?: string;
}

/** Options for a folder listing. */
export interface ListFoldersOptions {
  /** Also list the archive mailbox's mail folders; default false. */
  includeArchive?: boolean;
  /** Also list the Recoverable Items folders; default false. */
  includeRecoverableItems?: boolean;
}

/** The mail folders of a mailbox. */
export interface FolderListing {
  folders: MailboxFolder[];
  /**
   * Folder kinds that were asked for but that this store cannot reach, such as the archive
   * mailbox over Graph.
   */
  unreachable: FolderKind[];
}

/** One completed incremental sync of a folder. */
export interface FolderSyncResult {
  /** Items created or changed since the state passed in. */
  changed: MailboxMessageRef[];
  /** Ids of items removed since the state passed in. */
  removedIds: string[];
  /** Opaque state for the next sync (a Graph delta link or an EWS sync state). */
  state: string;
  /**
   * True when the stored state was no longer valid (Graph 410 Gone) and this was a full sync, so
   * `changed` lists every item of the folder and removals since the old state are unknown.
   */
  resynced?: boolean;
}

/** The MIME of one message, streamed. */
export interface MimeDownload {
  stream: Readable;
  /** Size the store declared, when it did; a download shorter than this is incomplete. */
  declaredBytes?: number;
}

/** Delete mode of a message. */
export type DeleteMode = 'deleted-items' | 'soft' | 'hard';

/** Marks a message in place: categories (Graph cannot change a received subject) and a flag. */
export interface MessageTag {
  categories: string[];
  flag?: boolean;
}

/** One mailbox store: Exchange Online over Graph, or Exchange Server over EWS. */
export interface MailboxClient {
  /** Lists messages in a folder (default: all folders of the mailbox) over a time window. */
  listMessages(mailbox: MailboxName, options?: ListMessagesOptions): AsyncIterable<MailboxMessageRef>;
  /**
   * Lists the mailbox's mail folders (every level), leaving out calendars, contacts, tasks, search
   * folders and hidden folders such as mailsweep's quarantine folder.
   */
  listFolders(mailbox: MailboxName, options?: ListFoldersOptions): Promise<FolderListing>;
  /** Runs one incremental sync of a folder from a stored state; no state means a full sync. */
  syncFolder(mailbox: MailboxName, folder: FolderRef, state?: string): Promise<FolderSyncResult>;
  /** Reads one message's properties. */
  getMessage(mailbox: MailboxName, id: string): Promise<MailboxMessageRef>;
  /** Streams one message's MIME. */
  getMime(mailbox: MailboxName, id: string): Promise<MimeDownload>;
  /** Moves a message and returns its new id. */
  moveMessage(mailbox: MailboxName, id: string, destination: FolderRef): Promise<string>;
  /** Deletes a message. */
  deleteMessage(mailbox: MailboxName, id: string, mode: DeleteMode): Promise<void>;
  /** Adds categories (and a flag) to a message. */
  tagMessage(mailbox: MailboxName, id: string, tag: MessageTag): Promise<void>;
  /** Returns the id of a hidden folder under the mailbox root, creating it when missing. */
  ensureHiddenFolder(mailbox: MailboxName, displayName: string): Promise<string>;
}

/**
 * A store that can change the subject of a received message (EWS can; Graph cannot, so there a
 * tag is a category only).
 */
export interface SubjectPrefixing {
  /** Puts `prefix` before the message's subject, unless the subject already starts with it. */
  prefixSubject(mailbox: MailboxName, id: string, prefix: string): Promise<void>;
}

/** True when the client can change a received message's subject. */
export function canPrefixSubject(client: object): client is SubjectPrefixing {
  return typeof (client as Partial<SubjectPrefixing>).prefixSubject === 'function';
}

/**
 * One attachment as the store lists it for a message: Graph's `attachments` collection or the
 * `Attachments` of an EWS GetItem, in the store's order.
 */
export interface StoreAttachment {
  id: string;
  name: string;
  contentType?: string;
}

/**
 * The attachment to remove, described from the message's MIME, because stores name attachments by
 * their own ids. `index` and `count` place it among the attachments in the MIME (body text
 * parts excluded), and `nameIndex` and `nameCount` among those with the same name.
 */
export interface AttachmentTarget {
  /** MIME part path of the top-level attachment, such as `2` or `1.3`. */
  mimePath: string;
  /** File name, or an empty string for an attachment without one. */
  name: string;
  contentType: string;
  index: number;
  count: number;
  nameIndex: number;
  nameCount: number;
}

/**
 * A store that can remove one attachment from a message in place (Graph: DELETE on the
 * attachment; EWS: DeleteAttachment). The item keeps its id.
 */
export interface AttachmentRemoving {
  /**
   * Removes the attachment that matches `target`. Returns `not-found` when no listed attachment
   * matches it with certainty (an earlier try may have removed it), and never guesses.
   */
  removeAttachment(
    mailbox: MailboxName,
    id: string,
    target: AttachmentTarget,
  ): Promise<'removed' | 'not-found'>;
}

/** True when the client can remove an attachment from a message. */
export function canRemoveAttachments(client: object): client is AttachmentRemoving {
  return typeof (client as Partial<AttachmentRemoving>).removeAttachment === 'function';
}

/** A message created in a mailbox from stored MIME. */
export interface ImportedMessage {
  /** The store's id of the new item. */
  id: string;
  /**
   * True when the store keeps the MIME byte for byte (EWS). False when the store rebuilds the
   * message from parsed fields (Graph), so headers such as the Received chain are lost.
   */
  preservesMime: boolean;
}

/** A store that can create a received (non-draft) message from MIME, for release. */
export interface MessageImporting {
  /**
   * Creates a message in a folder from MIME, as received mail rather than a draft. `receivedAt`
   * is the original receive time, which stores that rebuild the message keep.
   */
  importMessage(
    mailbox: MailboxName,
    folder: FolderRef,
    mime: Buffer,
    receivedAt?: Date,
  ): Promise<ImportedMessage>;
}

/** True when the client can import a message from MIME. */
export function canImportMessage(client: object): client is MessageImporting {
  return typeof (client as Partial<MessageImporting>).importMessage === 'function';
}
