import type { ArrivalSettings } from '../config/settings.js';
import type { FolderRef, MailboxClient } from '../mailbox/mailbox-client.js';
import { normalizeMailbox } from '../quarantine/quarantine-id.js';
import type { Action, Category } from '../scanning/types.js';

/**
 * Ids of each mailbox's hidden quarantine folder, looked up (and created on first use) once per
 * mailbox and process. Graph lets `isHidden` be set only when a folder is created, so the folder
 * is made by the mailbox client's ensureHiddenFolder and never renamed or altered here.
 */
export class HiddenFolders {
  private readonly ids = new Map<string, Promise<string>>();

  constructor(
    private readonly client: MailboxClient,
    private readonly displayName: string,
  ) {}

  /** Returns the folder id, creating the folder when the mailbox has none. */
  get(mailbox: string): Promise<string> {
    const key = normalizeMailbox(mailbox);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.client.ensureHiddenFolder(mailbox, this.displayName);
      // A failed lookup is not cached, so that the next job tries again.
      id.catch(() => this.ids.delete(key));
      this.ids.set(key, id);
    }
    return id;
  }
}

/** Returns the folder a moving action puts the message in, or undefined for other actions. */
export async function destinationOf(
  action: Action,
  settings: ArrivalSettings,
  hiddenFolders: HiddenFolders,
  mailbox: string,
): Promise<FolderRef | undefined> {
  if (action === 'junk') {
    return { wellKnown: 'junkemail' };
  }
  if (action === 'quarantine' && settings.quarantineRemoval === 'hidden-folder') {
    return { folderId: await hiddenFolders.get(mailbox) };
  }
  return undefined;
}

/** Outlook category the `tag` action sets for a verdict category. */
export function toTagCategory(settings: ArrivalSettings, category: Category): string {
  return `${settings.tagCategory}: ${category}`;
}

/**
 * Carries out a verdict's action in the mailbox and returns the message's id afterwards (a move
 * gives the item a new id). Quarantine and delete must only be called once the stored copy is
 * verified.
 * @throws ScannerError from the mailbox client; `mailbox-not-found` when the message is gone.
 */
export async function applyAction(options: {
  client: MailboxClient;
  settings: ArrivalSettings;
  hiddenFolders: HiddenFolders;
  mailbox: string;
  messageId: string;
  action: Action;
  category: Category;
}): Promise<string> {
  const { client, settings, mailbox, messageId, action } = options;
  if (action === 'none') {
    return messageId;
  }
  if (action === 'tag') {
    const tag = { categories: [toTagCategory(settings, options.category)], flag: settings.tagFlag };
    await client.tagMessage(mailbox, messageId, tag);
    return messageId;
  }
  const destination = await destinationOf(action, settings, options.hiddenFolders, mailbox);
  if (destination !== undefined) {
    return client.moveMessage(mailbox, messageId, destination);
  }
  await client.deleteMessage(mailbox, messageId, settings.deleteMode);
  return messageId;
}
