import {
  canImportMessage,
  type FolderRef,
  type MailboxClient,
  type MailboxMessageRef,
} from '../mailbox/mailbox-client.js';
import { ScannerError } from '../shared/errors.js';
import type { QuarantineMetadata } from './quarantine-types.js';

/**
 * Release to the mailbox. When the scan consumer moved a message to the mailbox's hidden
 * quarantine folder, the message itself is still in the mailbox, byte for byte, and moving it back
 * to the folder it came from is lossless. The message is found in the hidden folder by its
 * internet message id among items received within {@link RELEASE_SEARCH_WINDOW_MS} of the
 * recorded time. When it is no longer there (removal mode `delete`, or someone emptied the
 * folder), the stored MIME is imported into the original folder as received mail: byte for byte
 * through EWS, rebuilt from parsed fields through Graph (src/graph/graph-import.ts).
 */

/** Half-width of the receive-time window searched in the hidden folder. */
export const RELEASE_SEARCH_WINDOW_MS = 10 * 60 * 1000;

/** The mailbox client and folder name a release uses. */
export interface ReleaseTarget {
  client: MailboxClient;
  /** Display name of the hidden quarantine folder (MAILSWEEP_QUARANTINE_FOLDER_NAME). */
  hiddenFolderName: string;
}

/** Outcome of {@link releaseByMove} and {@link releaseToMailbox}. */
export type ReleaseOutcome =
  | {
      kind: 'released';
      messageId: string;
      folderId?: string;
      /** `move` from the hidden folder, or `import` of the stored MIME. */
      method?: 'move' | 'import';
      /** False when the store rebuilt the message from parsed fields (Graph import). */
      preservesMime?: boolean;
    }
  /** The message is not (or no longer) in the hidden folder; nothing was changed. */
  | { kind: 'not-in-quarantine-folder' };

/**
 * Moves the quarantined message back to its original folder (the Inbox when none was recorded)
 * and confirms that the store reports it there before returning `released`.
 * @throws ScannerError `mailbox-*` codes from the client; `mailbox-request-failed` when the
 *   moved message is not reported in the destination folder.
 */
export async function releaseByMove(
  metadata: QuarantineMetadata,
  target: ReleaseTarget,
): Promise<ReleaseOutcome> {
  const mailbox = metadata.mailbox;
  if (mailbox === undefined || mailbox === '') {
    return { kind: 'not-in-quarantine-folder' };
  }
  const hiddenFolderId = await target.client.ensureHiddenFolder(mailbox, target.hiddenFolderName);
  const quarantinedId = await findInFolder(target.client, mailbox, hiddenFolderId, metadata);
  if (quarantinedId === undefined) {
    return { kind: 'not-in-quarantine-folder' };
  }

  const destination: FolderRef =
    metadata.folder === undefined ? { wellKnown: 'inbox' } : { folderId: metadata.folder };
  const movedId = await target.client.moveMessage(mailbox, quarantinedId, destination);
  const moved = await target.client.getMessage(mailbox, movedId);
  const arrived =
    metadata.folder === undefined
      ? moved.folderId !== hiddenFolderId
      : moved.folderId === metadata.folder;
  if (!arrived) {
    throw new ScannerError(
      'mailbox-request-failed',
      'The released message is not reported in its destination folder',
      { fields: { quarantineId: metadata.id } },
    );
  }
  return { kind: 'released', messageId: movedId, folderId: moved.folderId };
}

async function findInFolder(
  client: MailboxClient,
  mailbox: string,
  folderId: string,
  metadata: QuarantineMetadata,
): Promise<string | undefined> {
  const receivedAt =
    metadata.receivedAt === undefined ? Number.NaN : Date.parse(metadata.receivedAt);
  if (metadata.internetMessageId === undefined || !Number.isFinite(receivedAt)) {
    return undefined;
  }
  const listing = client.listMessages(mailbox, {
    folder: { folderId },
    receivedAfter: new Date(receivedAt - RELEASE_SEARCH_WINDOW_MS),
    receivedBefore: new Date(receivedAt + RELEASE_SEARCH_WINDOW_MS),
  });
  for await (const item of listing) {
    if (item.internetMessageId === metadata.internetMessageId) {
      return item.id;
    }
  }
  return undefined;
}

/**
 * Releases an item to its own mailbox: by move when the message is still in the hidden folder,
 * otherwise by importing the stored copy into the original folder (the Inbox when none was
 * recorded). Either way the message is read back and must be in the destination folder with the
 * item's internet message id before this returns `released`.
 * @throws ScannerError `mailbox-*` codes from the client; `mailbox-request-failed` when the store
 *   cannot import MIME or the released message is not found where it was put.
 */
export async function releaseToMailbox(
  metadata: QuarantineMetadata,
  readContent: () => Promise<Buffer>,
  target: ReleaseTarget,
): Promise<ReleaseOutcome> {
  const moved = await releaseByMove(metadata, target);
  if (moved.kind === 'released' || metadata.mailbox === undefined || metadata.mailbox === '') {
    return moved.kind === 'released' ? { ...moved, method: 'move', preservesMime: true } : moved;
  }
  const destination: FolderRef =
    metadata.folder === undefined ? { wellKnown: 'inbox' } : { folderId: metadata.folder };
  return importCopy(metadata, await readContent(), metadata.mailbox, destination, target);
}

/**
 * Puts a copy of the stored message into another mailbox's Inbox: an administrator's release to
 * other recipients. The item's own mailbox is not touched.
 * @throws ScannerError as {@link releaseToMailbox} does.
 */
export async function releaseCopyTo(
  metadata: QuarantineMetadata,
  raw: Buffer,
  recipient: string,
  target: ReleaseTarget,
): Promise<ReleaseOutcome> {
  return importCopy(metadata, raw, recipient, { wellKnown: 'inbox' }, target);
}

async function importCopy(
  metadata: QuarantineMetadata,
  raw: Buffer,
  mailbox: string,
  destination: FolderRef,
  target: ReleaseTarget,
): Promise<ReleaseOutcome> {
  const client = target.client;
  if (!canImportMessage(client)) {
    throw new ScannerError('mailbox-request-failed', 'This mailbox store cannot import a message', {
      fields: { quarantineId: metadata.id, operation: 'import-message' },
    });
  }
  const receivedAt = metadata.receivedAt === undefined ? undefined : new Date(metadata.receivedAt);
  const imported = await client.importMessage(mailbox, destination, raw, receivedAt);
  const created = await client.getMessage(mailbox, imported.id);
  if (!isInDestination(created, destination, metadata)) {
    throw new ScannerError(
      'mailbox-request-failed',
      'The imported message is not reported in its destination folder',
      { fields: { quarantineId: metadata.id, operation: 'import-message' } },
    );
  }
  return {
    kind: 'released',
    messageId: imported.id,
    folderId: created.folderId,
    method: 'import',
    preservesMime: imported.preservesMime,
  };
}

/** True when the store reports the message in the destination, with the item's message id. */
function isInDestination(
  ref: MailboxMessageRef,
  destination: FolderRef,
  metadata: QuarantineMetadata,
): boolean {
  if (ref.isDraft === true) {
    return false;
  }
  if (metadata.internetMessageId !== undefined && ref.internetMessageId !== metadata.internetMessageId) {
    return false;
  }
  // A well-known name cannot be compared with the folder id the store reports without a lookup.
  return 'folderId' in destination ? ref.folderId === destination.folderId : ref.folderId !== undefined;
}
