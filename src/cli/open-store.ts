import path from 'node:path';

import type { Settings } from '../config/settings.js';
import { createBlobQuarantineStore, type QuarantineStore } from '../quarantine/index.js';
import { startLocalAzurite } from '../quarantine/local-azurite.js';
import type { Logger } from '../shared/logger.js';

/** Folder under the working directory where the local run keeps its Azurite data. */
export const LOCAL_DATA_FOLDER = '.mailsweep';

/**
 * Opens the configured quarantine store. With no connection string and no blob service URI set,
 * starts Azurite on 127.0.0.1 with its data under `.mailsweep/azurite`, so a machine without Azure
 * gets a real Blob storage endpoint and later commands see earlier items.
 */
export async function openQuarantineStore(
  settings: Settings,
  logger: Logger,
): Promise<{ store: QuarantineStore; close(): Promise<void> }> {
  const configured = settings.quarantine.connectionString ?? settings.quarantine.blobServiceUri;
  if (configured) {
    return { store: createBlobQuarantineStore({ settings: settings.quarantine, logger }), close: async () => undefined };
  }
  const azurite = await startLocalAzurite({
    location: path.resolve(LOCAL_DATA_FOLDER, 'azurite'),
    logger,
  });
  const store = createBlobQuarantineStore({
    settings: { ...settings.quarantine, connectionString: azurite.connectionString },
    logger,
  });
  return { store, close: () => azurite.stop() };
}
