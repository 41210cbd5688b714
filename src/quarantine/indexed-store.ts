import type { Logger } from '../shared/logger.js';
import type { QuarantineIndex } from './quarantine-index.js';
import type { QuarantineStore } from './quarantine-types.js';

/**
 * Wraps a store so that every put also writes the item's index rows. The rows are written from
 * the stored metadata, read back after the put, so a repeated put of the same item indexes the
 * first copy's times. A put whose index write fails throws, so that the caller retries it. The
 * store's put is idempotent, so the retry writes the rows without storing a second copy.
 */
export function withQuarantineIndex(
  store: QuarantineStore,
  index: QuarantineIndex,
): QuarantineStore {
  return {
    ...store,
    async put(raw, item) {
      const result = await store.put(raw, item);
      await index.add(await store.getMetadata(result.id));
      return result;
    },
  };
}

/**
 * Writes index rows for every item in the store, for items stored before the index existed or
 * by the command line. Rows are upserts, so running it twice is harmless.
 * @returns The number of items indexed.
 * @throws ScannerError `blob-unavailable` when Blob or Table storage fails.
 */
export async function rebuildQuarantineIndex(
  store: QuarantineStore,
  index: QuarantineIndex,
  logger: Logger,
): Promise<number> {
  let count = 0;
  for await (const metadata of store.list()) {
    await index.add(metadata);
    count += 1;
  }
  logger.info('Quarantine index rebuilt', { items: count });
  return count;
}
