import type {
  FolderKind,
  FolderRef,
  FolderSyncResult,
  MailboxFolder,
  MailboxName,
} from '../mailbox/mailbox-client.js';
import { ScannerError } from '../shared/errors.js';
import { expectSuccess, folderElement, itemNodes, itemShape, toMessageRef } from './ews-shapes.js';
import type { EwsTransport } from './ews-transport.js';
import { attribute, child, children, text, type XmlNode } from './ews-xml.js';

/** Folders per FindFolder page. */
const FOLDER_PAGE_SIZE = 500;

/** Changes per SyncFolderItems call; 512 is the most EWS returns. */
const SYNC_BATCH_SIZE = 512;

/** SyncFolderItems calls in one sync before giving up, so a state that never ends cannot loop. */
const MAX_SYNC_ROUNDS = 10_000;

/**
 * Lists the ids of every mail folder under the mailbox root (FindFolder with Deep traversal).
 * Folders whose class is not IPF.Note (calendars, contacts, tasks) and search folders are left
 * out; a folder without a class counts as a mail folder.
 */
export async function listFolders(
  transport: EwsTransport,
  mailbox: MailboxName,
): Promise<string[]> {
  const ids: string[] = [];
  for (let offset = 0, pages = 0; pages < MAX_SYNC_ROUNDS; pages += 1) {
    const result = await transport.call({
      operation: 'find-folder',
      mailbox,
      body: {
        'm:FindFolder': {
          '@_Traversal': 'Deep',
          'm:FolderShape': {
            't:BaseShape': 'IdOnly',
            't:AdditionalProperties': { 't:FieldURI': { '@_FieldURI': 'folder:FolderClass' } },
          },
          'm:IndexedPageFolderView': {
            '@_MaxEntriesReturned': String(FOLDER_PAGE_SIZE),
            '@_Offset': String(offset),
            '@_BasePoint': 'Beginning',
          },
          'm:ParentFolderIds': folderElement({ distinguished: 'msgfolderroot' }),
        },
      },
    });
    const root = child(expectSuccess(result.messages, 'find-folder'), 'RootFolder');
    const folders = children(child(root, 'Folders'), 'Folder');
    for (const folder of folders) {
      const folderClass = text(folder, 'FolderClass');
      const id = attribute(child(folder, 'FolderId'), 'Id');
      if (id !== undefined && (folderClass === undefined || folderClass.startsWith('IPF.Note'))) {
        ids.push(id);
      }
    }
    if (attribute(root, 'IncludesLastItemInRange') !== 'false' || folders.length === 0) {
      return ids;
    }
    const next = attribute(root, 'IndexedPagingOffset');
    offset = next !== undefined && /^\d+$/.test(next) ? Number(next) : offset + folders.length;
  }
  throw new ScannerError('mailbox-request-failed', 'EWS folder listing did not end', {
    fields: { operation: 'find-folder' },
  });
}

/** Distinguished name of the root whose subtree contains each kind of folder. */
const KIND_ROOTS: Record<FolderKind, string> = {
  mail: 'msgfolderroot',
  archive: 'archivemsgfolderroot',
  'recoverable-items': 'recoverableitemsroot',
};

/**
 * Lists every folder below one root (FindFolder, Deep traversal) with its display name and path.
 * Under the mail and archive roots only mail folders are kept (class IPF.Note, or none), as in
 * {@link listFolders}; the Recoverable Items folders have no class and are all kept.
 */
export async function listFolderTree(
  transport: EwsTransport,
  mailbox: MailboxName,
  kind: FolderKind,
): Promise<MailboxFolder[]> {
  const raw: Array<{ id: string; parentId?: string; displayName: string; folderClass?: string }> = [];
  for (let offset = 0, pages = 0; ; pages += 1) {
    if (pages >= MAX_SYNC_ROUNDS) {
      throw new ScannerError('mailbox-request-failed', 'EWS folder listing did not end', {
        fields: { operation: 'find-folder' },
      });
    }
    const result = await transport.call({
      operation: 'find-folder',
      mailbox,
      body: {
        'm:FindFolder': {
          '@_Traversal': 'Deep',
          'm:FolderShape': {
            't:BaseShape': 'IdOnly',
            't:AdditionalProperties': {
              't:FieldURI': [
                { '@_FieldURI': 'folder:FolderClass' },
                { '@_FieldURI': 'folder:DisplayName' },
                { '@_FieldURI': 'folder:ParentFolderId' },
              ],
            },
          },
          'm:IndexedPageFolderView': {
            '@_MaxEntriesReturned': String(FOLDER_PAGE_SIZE),
            '@_Offset': String(offset),
            '@_BasePoint': 'Beginning',
          },
          'm:ParentFolderIds': folderElement({ distinguished: KIND_ROOTS[kind] }),
        },
      },
    });
    const root = child(expectSuccess(result.messages, 'find-folder'), 'RootFolder');
    const folders = children(child(root, 'Folders'), 'Folder');
    for (const folder of folders) {
      const id = attribute(child(folder, 'FolderId'), 'Id');
      if (id !== undefined) {
        raw.push({
          id,
          parentId: attribute(child(folder, 'ParentFolderId'), 'Id'),
          displayName: text(folder, 'DisplayName') ?? '',
          folderClass: text(folder, 'FolderClass'),
        });
      }
    }
    if (attribute(root, 'IncludesLastItemInRange') !== 'false' || folders.length === 0) {
      break;
    }
    const next = attribute(root, 'IndexedPagingOffset');
    offset = next !== undefined && /^\d+$/.test(next) ? Number(next) : offset + folders.length;
  }

  const byId = new Map(raw.map((folder) => [folder.id, folder]));
  const pathOf = (id: string): string => {
    const names: string[] = [];
    // The depth bound stops a parent cycle in a malformed response.
    for (let current = byId.get(id), depth = 0; current !== undefined && depth < 64; depth += 1) {
      names.unshift(current.displayName);
      current = current.parentId === undefined ? undefined : byId.get(current.parentId);
    }
    if (kind === 'archive') {
      names.unshift('Archive');
    } else if (kind === 'recoverable-items') {
      names.unshift('Recoverable Items');
    }
    return names.join('/');
  };
  return raw
    .filter(
      (folder) =>
        kind === 'recoverable-items' ||
        folder.folderClass === undefined ||
        folder.folderClass.startsWith('IPF.Note'),
    )
    .map((folder) => ({ id: folder.id, displayName: folder.displayName, path: pathOf(folder.id), kind }));
}

/**
 * Runs SyncFolderItems from a state (none: from the start) until IncludesLastItemInRange, and
 * merges the batches: an item created and then deleted within the sync counts as removed only.
 * @throws ScannerError with `ewsCode` ErrorInvalidSyncStateData when the state is not accepted.
 */
export async function syncFolderItems(
  transport: EwsTransport,
  mailbox: MailboxName,
  folder: FolderRef,
  state: string | undefined,
): Promise<FolderSyncResult> {
  const changed = new Map<string, ReturnType<typeof toMessageRef>>();
  const removed = new Set<string>();
  let current = state;
  for (let round = 0; round < MAX_SYNC_ROUNDS; round += 1) {
    const request: XmlNode = {
      'm:ItemShape': itemShape(),
      'm:SyncFolderId': folderElement(folder),
    };
    if (current !== undefined) {
      request['m:SyncState'] = current;
    }
    request['m:MaxChangesReturned'] = String(SYNC_BATCH_SIZE);
    const result = await transport.call({
      operation: 'sync-folder',
      mailbox,
      body: { 'm:SyncFolderItems': request },
    });
    const message = expectSuccess(result.messages, 'sync-folder');
    const next = text(message, 'SyncState');
    if (next === undefined || next.length === 0) {
      throw new ScannerError(
        'mailbox-request-failed',
        'EWS SyncFolderItems returned no SyncState',
        {
          fields: { operation: 'sync-folder' },
        },
      );
    }
    current = next;
    const changes = child(message, 'Changes');
    for (const kind of ['Create', 'Update']) {
      for (const change of children(changes, kind)) {
        for (const node of itemNodes(change)) {
          const ref = toMessageRef(node, 'sync-folder');
          removed.delete(ref.id);
          changed.set(ref.id, ref);
        }
      }
    }
    for (const change of children(changes, 'Delete')) {
      for (const idNode of children(change, 'ItemId')) {
        const id = attribute(idNode, 'Id');
        if (id !== undefined) {
          changed.delete(id);
          removed.add(id);
        }
      }
    }
    if (text(message, 'IncludesLastItemInRange') !== 'false') {
      return { changed: [...changed.values()], removedIds: [...removed], state: current };
    }
  }
  throw new ScannerError('mailbox-request-failed', 'EWS sync did not reach the last item', {
    fields: { operation: 'sync-folder' },
  });
}
