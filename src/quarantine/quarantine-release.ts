import type { FolderRef, MailboxClient } from '../mailbox/mailbox-client.js';
import { ScannerError } from '../shared/errors.js';
import type { QuarantineMetadata } from './quarantine-types.js';

/**
 * Release by move: when the scan consumer moved a message to the mailbox's hidden quarantine
 * folder, the message itself is still in the mailbox, byte for byte, and moving it back to the
 * folder it came from is lossless. The message is found in the hidden folder by its internet
 * message id among items received within {@link RELEASE_SEARCH_WINDOW_MS} of the recorded time.
 *
 * NOTE: the other path, importing the stored MIME when the message is no longer in the hidden
 * folder (removal mode `delete`, or a user emptied the folder), is not implemented. Such an item
 * stays quarantined, and the release returns `not-in-quarantine-folder`.
 */

/** Half-width of the receive-time window searched in the hidden folder. */
export const RELEASE_SEARCH_WINDOW_MS = 10 * 60 * 1000;

/** The mailbox client and folder name a release uses. */
export interface ReleaseTarget {
  client: MailboxClient;
  /** Display name of the hidden quarantine folder (MAILSWEEP_QUARANTINE_FOLDER_NAME). */
  hiddenFolderName: string;
}

/** Outcome of {@link releaseByMove}. */
export type ReleaseOutcome =
  | { kind: 'released'; messageId: string; folderId?: string }
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
