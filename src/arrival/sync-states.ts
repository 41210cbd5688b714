import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';

import type { FolderRef } from '../mailbox/mailbox-client.js';
import { tableStatus, toItemKey, toTableError } from './table-keys.js';

/**
 * Stored sync states (Graph delta links, EWS sync states) in the `syncstates` table: one row per
 * mailbox (partition: mailbox key) and folder (row: `w-<well-known name>` or `f-<digest of id>`).
 */

/** Longest stored state: a Table string property is limited to 32 K UTF-16 characters. */
const MAX_STATE_CHARS = 32_000;

const stateRowSchema = z.object({ state: z.string().min(1).max(MAX_STATE_CHARS) });

/** Row key of a folder's sync state. */
export function toFolderKey(folder: FolderRef): string {
  return 'wellKnown' in folder ? `w-${folder.wellKnown}` : `f-${toItemKey(folder.folderId)}`;
}

/** Reads and writes sync states. */
export class SyncStates {
  constructor(private readonly table: TableClient) {}

  /**
   * Returns the stored state, `undefined` when there is none, or `unreadable` for a row this code
   * cannot use; both of the latter mean a full sync.
   */
  async read(mailboxKey: string, folder: FolderRef): Promise<string | 'unreadable' | undefined> {
    let entity: Record<string, unknown>;
    try {
      entity = await this.table.getEntity(mailboxKey, toFolderKey(folder));
    } catch (error) {
      if (tableStatus(error) === 404) {
        return undefined;
      }
      throw toTableError(error, 'sync state read');
    }
    const parsed = stateRowSchema.safeParse(entity);
    return parsed.success ? parsed.data.state : 'unreadable';
  }

  /**
   * Stores a folder's new state.
   * @throws ScannerError `blob-unavailable` when Table storage fails or the state is too long.
   */
  async write(mailboxKey: string, folder: FolderRef, state: string, now: Date): Promise<void> {
    try {
      await this.table.upsertEntity(
        { partitionKey: mailboxKey, rowKey: toFolderKey(folder), state, updatedAt: now.toISOString() },
        'Replace',
      );
    } catch (error) {
      throw toTableError(error, 'sync state write');
    }
  }
}
