import path from 'node:path';

import type { Settings } from '../config/settings.js';
import { createBlobQuarantineStore, type QuarantineStore } from '../quarantine/index.js';
import { withQuarantineIndex } from '../quarantine/indexed-store.js';
import { startLocalAzurite } from '../quarantine/local-azurite.js';
import { QuarantineIndex } from '../quarantine/quarantine-index.js';
import type { Logger } from '../shared/logger.js';
import { openStateTable, STATE_TABLES } from '../state/tables.js';

/** Folder under the working directory where the local run keeps its Azurite data. */
export const LOCAL_DATA_FOLDER = '.mailsweep';

/** A quarantine store opened by the command line, with its index when table storage is set. */
export interface OpenedQuarantineStore {
  /** The store; its puts also write index rows when `index` is set. */
  store: QuarantineStore;
  /** The quarantine index that the API and web interface list from, when table storage is set. */
  index?: QuarantineIndex;
  /** The store without index writes, for reading and for rebuilding the index. */
  blobStore: QuarantineStore;
  close(): Promise<void>;
}

/**
 * Opens the configured quarantine store. With no connection string and no blob service URI set,
 * starts Azurite on 127.0.0.1 (blob and table services) with its data under `.mailsweep/azurite`,
 * so a machine without Azure gets real storage and later commands, `npm start` included, see
 * earlier items. Items stored here are also indexed whenever table storage is available, so that
 * the quarantine API and web interface list them.
 */
export async function openQuarantineStore(
  settings: Settings,
  logger: Logger,
): Promise<OpenedQuarantineStore> {
  const configured = settings.quarantine.connectionString ?? settings.quarantine.blobServiceUri;
  if (configured) {
    const blobStore = createBlobQuarantineStore({ settings: settings.quarantine, logger });
    const hasTables =
      settings.state.connectionString !== undefined || settings.state.tableServiceUri !== undefined;
    const table = hasTables
      ? await openStateTable({ settings: settings.state }, STATE_TABLES.quarantineIndex)
      : undefined;
    const index = table === undefined ? undefined : new QuarantineIndex(table);
    return withIndex(blobStore, index, async () => undefined);
  }
  const azurite = await startLocalAzurite({
    location: path.resolve(LOCAL_DATA_FOLDER, 'azurite'),
    logger,
    withTables: true,
  });
  try {
    const blobStore = createBlobQuarantineStore({
      settings: { ...settings.quarantine, connectionString: azurite.connectionString },
      logger,
    });
    const table = await openStateTable(
      { settings: { connectionString: azurite.connectionString } },
      STATE_TABLES.quarantineIndex,
    );
    return withIndex(blobStore, new QuarantineIndex(table), () => azurite.stop());
  } catch (error) {
    await azurite.stop();
    throw error;
  }
}

function withIndex(
  blobStore: QuarantineStore,
  index: QuarantineIndex | undefined,
  close: () => Promise<void>,
): OpenedQuarantineStore {
  const store = index === undefined ? blobStore : withQuarantineIndex(blobStore, index);
  return { store, index, blobStore, close };
}
