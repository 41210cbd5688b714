import { randomBytes, randomUUID } from 'node:crypto';

import type { SimAttachment } from '../helpers/sim-attachments.js';

/** How a simulated mailbox answers Graph. */
export type MailboxKind =
  /** An Exchange Online mailbox. */
  | 'cloud'
  /** A hybrid mailbox hosted on premises: 404 `MailboxNotEnabledForRESTAPI`. */
  | 'on-premises'
  /** A hybrid mailbox for which Graph answers a bare 404 with no error code. */
  | 'on-premises-bare-404';

/** Well-known folder names the simulator creates in every mailbox. */
export const WELL_KNOWN_FOLDERS = [
  'inbox',
  'junkemail',
  'deleteditems',
  'sentitems',
  'drafts',
  'archive',
] as const;

const DISPLAY_NAMES: Record<(typeof WELL_KNOWN_FOLDERS)[number], string> = {
  inbox: 'Inbox',
  junkemail: 'Junk Email',
  deleteditems: 'Deleted Items',
  sentitems: 'Sent Items',
  drafts: 'Drafts',
  archive: 'Archive',
};

/** A mail folder of a simulated mailbox. */
export interface SimFolder {
  id: string;
  displayName: string;
  parentFolderId: string;
  isHidden: boolean;
  wellKnownName?: string;
  /** Change log for delta queries: sequence numbers of changes to message ids. */
  changes: Array<{ seq: number; messageId: string }>;
}

/** A message of a simulated mailbox. */
export interface SimMessage {
  id: string;
  folderId: string;
  internetMessageId: string;
  receivedDateTime: string;
  /** Set on delivery, and to the time of each move or in-place update. */
  lastModifiedDateTime: string;
  mime: Buffer;
  isDraft: boolean;
  categories: string[];
  flagStatus: 'notFlagged' | 'flagged' | 'complete';
  changeKey: string;
  /**
   * Attachments as listed by `/attachments`, read from the MIME on first use. Deleting one removes
   * it from this list only: `$value` still returns the MIME as delivered.
   */
  attachments?: SimAttachment[];
}

/** A simulated user with a mailbox. */
export interface SimMailbox {
  id: string;
  mail: string;
  /** The user principal name; default the mail address. */
  userPrincipalName: string;
  /**
   * Directory proxy addresses as Graph lists them: `SMTP:` marks the primary address, `smtp:` an
   * alias, and other types (`x500:`, `sip:`) are not mail. Default `SMTP:<mail>`.
   */
  proxyAddresses: string[];
  kind: MailboxKind;
  rootFolderId: string;
  folders: Map<string, SimFolder>;
  messages: Map<string, SimMessage>;
  /** Delta tokens issued before this sequence number answer 410 Gone. */
  oldestValidDeltaSeq: number;
}

/** Returns an opaque id in the style of Exchange item ids (base64url, about 150 characters). */
export function newItemId(): string {
  return `AAMk${randomBytes(104).toString('base64url')}`;
}

/** Users, mailboxes, folders and messages of the simulator. Ids are case-sensitive, as in Graph. */
export class MailboxStore {
  readonly mailboxes = new Map<string, SimMailbox>();
  private readonly byMail = new Map<string, SimMailbox>();
  private sequence = 0;

  /** Adds a user with a mailbox and the well-known folders. */
  addMailbox(mail: string, kind: MailboxKind = 'cloud', id: string = randomUUID()): SimMailbox {
    const rootFolderId = newItemId();
    const mailbox: SimMailbox = {
      id,
      mail: mail.toLowerCase(),
      userPrincipalName: mail.toLowerCase(),
      proxyAddresses: [`SMTP:${mail.toLowerCase()}`],
      kind,
      rootFolderId,
      folders: new Map(),
      messages: new Map(),
      oldestValidDeltaSeq: 0,
    };
    for (const name of WELL_KNOWN_FOLDERS) {
      const folder = this.newFolder(DISPLAY_NAMES[name], rootFolderId, false);
      folder.wellKnownName = name;
      mailbox.folders.set(folder.id, folder);
    }
    // Recoverable Items sits outside the mail folder tree, so mailFolders never lists it.
    const deletions = this.newFolder('Deletions', newItemId(), false);
    deletions.wellKnownName = 'recoverableitemsdeletions';
    mailbox.folders.set(deletions.id, deletions);
    this.mailboxes.set(id, mailbox);
    this.byMail.set(mailbox.mail, mailbox);
    return mailbox;
  }

  /** Finds a mailbox by user id or SMTP address, as `/users/{id | userPrincipalName}` does. */
  findMailbox(idOrMail: string): SimMailbox | undefined {
    return this.mailboxes.get(idOrMail) ?? this.byMail.get(idOrMail.toLowerCase());
  }

  /** Resolves a folder id or well-known name; `msgfolderroot` is the root, which holds no mail. */
  findFolder(mailbox: SimMailbox, idOrName: string): SimFolder | undefined {
    const direct = mailbox.folders.get(idOrName);
    if (direct !== undefined) {
      return direct;
    }
    const name = idOrName.toLowerCase();
    for (const folder of mailbox.folders.values()) {
      if (folder.wellKnownName === name) {
        return folder;
      }
    }
    return undefined;
  }

  /** Creates a folder under the root, or under `parentFolderId` when given. */
  createFolder(
    mailbox: SimMailbox,
    displayName: string,
    isHidden: boolean,
    parentFolderId: string = mailbox.rootFolderId,
  ): SimFolder {
    const folder = this.newFolder(displayName, parentFolderId, isHidden);
    mailbox.folders.set(folder.id, folder);
    return folder;
  }

  /** Stores a new message in a folder and records the change for delta queries. */
  addMessage(
    mailbox: SimMailbox,
    folder: SimFolder,
    input: {
      mime: Buffer;
      receivedDateTime: string;
      lastModifiedDateTime?: string;
      internetMessageId: string;
      isDraft: boolean;
    },
  ): SimMessage {
    const message: SimMessage = {
      id: newItemId(),
      folderId: folder.id,
      internetMessageId: input.internetMessageId,
      receivedDateTime: input.receivedDateTime,
      lastModifiedDateTime: input.lastModifiedDateTime ?? input.receivedDateTime,
      mime: input.mime,
      isDraft: input.isDraft,
      categories: [],
      flagStatus: 'notFlagged',
      changeKey: randomBytes(8).toString('base64'),
    };
    mailbox.messages.set(message.id, message);
    this.recordChange(folder, message.id);
    return message;
  }

  /** Moves a message; Exchange gives the moved item a new id, so the old id is gone. */
  moveMessage(mailbox: SimMailbox, message: SimMessage, destination: SimFolder): SimMessage {
    const source = mailbox.folders.get(message.folderId);
    mailbox.messages.delete(message.id);
    if (source !== undefined) {
      this.recordChange(source, message.id);
    }
    const moved: SimMessage = {
      ...message,
      id: newItemId(),
      folderId: destination.id,
      lastModifiedDateTime: new Date().toISOString(),
    };
    mailbox.messages.set(moved.id, moved);
    this.recordChange(destination, moved.id);
    return moved;
  }

  /** Removes a message from the mailbox's view (soft or hard delete). */
  removeMessage(mailbox: SimMailbox, message: SimMessage): void {
    mailbox.messages.delete(message.id);
    const folder = mailbox.folders.get(message.folderId);
    if (folder !== undefined) {
      this.recordChange(folder, message.id);
    }
  }

  /** Records an in-place update (categories, flag) for delta queries. */
  touchMessage(mailbox: SimMailbox, message: SimMessage): void {
    message.changeKey = randomBytes(8).toString('base64');
    message.lastModifiedDateTime = new Date().toISOString();
    const folder = mailbox.folders.get(message.folderId);
    if (folder !== undefined) {
      this.recordChange(folder, message.id);
    }
  }

  /** Current sequence number, the position a delta link points at. */
  currentSequence(): number {
    return this.sequence;
  }

  /** Makes every delta token issued so far for this mailbox answer 410 Gone. */
  expireDeltaTokens(mailbox: SimMailbox): void {
    mailbox.oldestValidDeltaSeq = this.sequence + 1;
  }

  private recordChange(folder: SimFolder, messageId: string): void {
    this.sequence += 1;
    folder.changes.push({ seq: this.sequence, messageId });
  }

  private newFolder(displayName: string, parentFolderId: string, isHidden: boolean): SimFolder {
    return { id: newItemId(), displayName, parentFolderId, isHidden, changes: [] };
  }
}
