import {
  addressPartition,
  indexedAddresses,
  toIndexRowKey,
  type QuarantineIndex,
} from './quarantine-index.js';
import type { QuarantineMetadata, QuarantineStore } from './quarantine-types.js';

/**
 * Removal of a quarantined item from the index and the store, in an order that a retry can
 * finish. The address rows go first, so users stop seeing the item, then the blobs. The row in
 * partition `all` goes last, because retention walks that partition and so finds a half-removed
 * item.
 */

/** An item's index keys: enough to remove every row without reading its metadata. */
export interface IndexedItem {
  id: string;
  rowKey: string;
  addressPartitions: readonly string[];
}

/**
 * Removes one item.
 * @returns Whether the store still held any blob of the item.
 * @throws ScannerError `blob-unavailable` when Blob or Table storage fails; a retry is safe.
 */
export async function removeQuarantineItem(
  store: QuarantineStore,
  index: QuarantineIndex,
  item: IndexedItem,
): Promise<boolean> {
  await index.removeAddressRows(item.rowKey, item.addressPartitions);
  const existed = await store.delete(item.id);
  await index.removeAllRow(item.rowKey);
  return existed;
}

/**
 * Returns the index keys of an item. The `all` row lists the partitions written at the time, so
 * it is preferred; without it, the partitions are computed from the metadata.
 */
export async function toIndexedItem(
  index: QuarantineIndex,
  metadata: QuarantineMetadata,
): Promise<IndexedItem> {
  const row = await index.findRow(metadata);
  if (row !== undefined && row.addressPartitions.length > 0) {
    return { id: metadata.id, rowKey: row.rowKey, addressPartitions: row.addressPartitions };
  }
  return {
    id: metadata.id,
    rowKey: toIndexRowKey(metadata.quarantinedAt, metadata.id),
    addressPartitions: indexedAddresses(metadata).map(addressPartition),
  };
}
