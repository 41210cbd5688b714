import { randomBytes } from 'node:crypto';

import type { SimAttachment } from '../helpers/sim-attachments.js';

/** A folder of a simulated mailbox. */
export interface SimFolder {
  id: string;
  displayName: string;
  /** Parent folder id; undefined for the mailbox root (msgfolderroot). */
  parentId?: string;
  /** Distinguished folder name, for well-known folders. */
  distinguished?: string;
  folderClass: string;
  /** PR_ATTR_HIDDEN. */
  hidden: boolean;
}

/** An item of a simulated mailbox. */
export interface SimItem {
  id: string;
  folderId: string;
  mime: Buffer;
  subject: string;
  categories: string[];
  flagged: boolean;
  isDraft: boolean;
  receivedAt: Date;
  modifiedAt: Date;
  internetMessageId?: string;
  /** Size reported in item:Size; default the MIME length. */
  size?: number;
  /** GetItem returns only this many bytes of the MIME (a partial download). */
  mimeCutBytes?: number;
  /**
   * Attachments as GetItem lists them, read from the MIME on first use. DeleteAttachment removes
   * one from this list only: the MIME stays as delivered.
   */
  attachments?: SimAttachment[];
}

/** One change to a folder's items, for SyncFolderItems. */
export interface SimChange {
  seq: number;
  folderId: string;
  kind: 'create' | 'update' | 'delete';
  itemId: string;
}

/** A simulated mailbox with its folders, items and change log. */
export interface SimMailbox {
  address: string;
  folders: Map<string, SimFolder>;
  items: Map<string, SimItem>;
  changes: SimChange[];
  seq: number;
  /** Bumped to invalidate every sync state issued before. */
  syncEpoch: number;
  softDeleted: string[];
  hardDeleted: string[];
  /** Called after every change, for push notifications. */
  onChange?: (change: SimChange) => void;
}

/** Well-known folders every simulated mailbox has, under the root. */
const WELL_KNOWN = [
  ['inbox', 'Inbox'],
  ['junkemail', 'Junk Email'],
  ['deleteditems', 'Deleted Items'],
  ['sentitems', 'Sent Items'],
  ['drafts', 'Drafts'],
] as const;

/** Returns a new id in the style of EWS ids: base64 with `+`, `/` and `=`. */
export function newEwsId(): string {
  return `AAMkAD${randomBytes(30).toString('base64')}=`;
}

/** Creates an empty mailbox with a root, the well-known folders and a calendar. */
export function createMailbox(address: string): SimMailbox {
  const folders = new Map<string, SimFolder>();
  const root: SimFolder = {
    id: newEwsId(),
    displayName: 'Top of Information Store',
    distinguished: 'msgfolderroot',
    folderClass: 'IPF.Note',
    hidden: false,
  };
  folders.set(root.id, root);
  for (const [distinguished, displayName] of WELL_KNOWN) {
    const folder: SimFolder = {
      id: newEwsId(),
      displayName,
      parentId: root.id,
      distinguished,
      folderClass: 'IPF.Note',
      hidden: false,
    };
    folders.set(folder.id, folder);
  }
  const calendar: SimFolder = {
    id: newEwsId(),
    displayName: 'Calendar',
    parentId: root.id,
    distinguished: 'calendar',
    folderClass: 'IPF.Appointment',
    hidden: false,
  };
  folders.set(calendar.id, calendar);
  // The archive mailbox and Recoverable Items have their own roots beside msgfolderroot.
  const archiveRoot: SimFolder = {
    id: newEwsId(),
    displayName: 'Top of Information Store',
    distinguished: 'archivemsgfolderroot',
    folderClass: 'IPF.Note',
    hidden: false,
  };
  folders.set(archiveRoot.id, archiveRoot);
  const archiveInbox: SimFolder = {
    id: newEwsId(),
    displayName: 'Inbox',
    parentId: archiveRoot.id,
    folderClass: 'IPF.Note',
    hidden: false,
  };
  folders.set(archiveInbox.id, archiveInbox);
  const recoverableRoot: SimFolder = {
    id: newEwsId(),
    displayName: 'Recoverable Items',
    distinguished: 'recoverableitemsroot',
    folderClass: '',
    hidden: false,
  };
  folders.set(recoverableRoot.id, recoverableRoot);
  const deletions: SimFolder = {
    id: newEwsId(),
    displayName: 'Deletions',
    parentId: recoverableRoot.id,
    distinguished: 'recoverableitemsdeletions',
    folderClass: '',
    hidden: false,
  };
  folders.set(deletions.id, deletions);
  return {
    address,
    folders,
    items: new Map(),
    changes: [],
    seq: 0,
    syncEpoch: 1,
    softDeleted: [],
    hardDeleted: [],
  };
}

/** Finds a folder by distinguished name or id. */
export function findFolder(
  mailbox: SimMailbox,
  ref: { distinguished?: string; id?: string },
): SimFolder | undefined {
  if (ref.id !== undefined) {
    return mailbox.folders.get(ref.id);
  }
  for (const folder of mailbox.folders.values()) {
    if (folder.distinguished === ref.distinguished) {
      return folder;
    }
  }
  return undefined;
}

/** Appends a change to the mailbox's log. */
export function recordChange(
  mailbox: SimMailbox,
  folderId: string,
  kind: SimChange['kind'],
  itemId: string,
): void {
  mailbox.seq += 1;
  const change: SimChange = { seq: mailbox.seq, folderId, kind, itemId };
  mailbox.changes.push(change);
  mailbox.onChange?.(change);
}

/** Moves an item to another folder under a new id, as Exchange does. */
export function moveItem(mailbox: SimMailbox, item: SimItem, folderId: string): SimItem {
  mailbox.items.delete(item.id);
  recordChange(mailbox, item.folderId, 'delete', item.id);
  const moved: SimItem = { ...item, id: newEwsId(), folderId, modifiedAt: new Date() };
  mailbox.items.set(moved.id, moved);
  recordChange(mailbox, folderId, 'create', moved.id);
  return moved;
}

/** Reads Subject and Message-ID from a MIME header block, for items created from MIME. */
export function readMimeHeaders(mime: Buffer): { subject: string; messageId?: string } {
  const end = mime.indexOf('\r\n\r\n');
  const head = mime.subarray(0, end < 0 ? Math.min(mime.length, 65_536) : end).toString('latin1');
  const unfolded = head.replace(/\r?\n[ \t]+/g, ' ');
  const subject = /^subject:[ \t]*(.*)$/im.exec(unfolded)?.[1] ?? '';
  const messageId = /^message-id:[ \t]*(.*)$/im.exec(unfolded)?.[1]?.trim();
  return messageId === undefined ? { subject } : { subject, messageId };
}
