import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';

import { toTableError } from '../arrival/table-keys.js';

/**
 * Azure Table storage allows at most 15 comparisons in one filter; one is the partition key.
 * @see https://learn.microsoft.com/rest/api/storageservices/querying-tables-and-entities
 */
const KEYS_PER_QUERY = 14;

const finishedRowSchema = z.object({
  rowKey: z.string(),
  state: z.string(),
  category: z.string().optional(),
  action: z.string().optional(),
  signatures: z.string().optional(),
  quarantineId: z.string().optional(),
  receivedAt: z.string().optional(),
});

/** The verdict scan on arrival stored for a message it finished. */
export interface ArrivalVerdict {
  category?: string;
  action?: string;
  signatures?: string;
}

/**
 * Reads scan on arrival's `done` locks for many lock keys of one mailbox, a few keys per query,
 * so a page of a mailbox scan costs a handful of reads instead of one per message.
 * @throws ScannerError `blob-unavailable` when Table storage fails.
 */
export async function readArrivalVerdicts(
  locksTable: TableClient,
  mailboxKey: string,
  lockKeys: readonly string[],
): Promise<Map<string, ArrivalVerdict>> {
  const found = new Map<string, ArrivalVerdict>();
  const unique = [...new Set(lockKeys)];
  for (let start = 0; start < unique.length; start += KEYS_PER_QUERY) {
    const keys = unique.slice(start, start + KEYS_PER_QUERY);
    const rowFilter = keys.map((key) => odata`RowKey eq ${key}`).join(' or ');
    const filter = `${odata`PartitionKey eq ${mailboxKey}`} and (${rowFilter})`;
    try {
      for await (const entity of locksTable.listEntities({ queryOptions: { filter } })) {
        const row = finishedRowSchema.safeParse(entity);
        if (row.success && row.data.state === 'done') {
          const { category, action, signatures } = row.data;
          found.set(row.data.rowKey, { category, action, signatures });
        }
      }
    } catch (error) {
      throw toTableError(error, 'arrival verdict query');
    }
  }
  return found;
}

/** A message this scan finished acting on, from the scan's own lock. */
export interface ScanLockVerdict extends ArrivalVerdict {
  lockKey: string;
  quarantineId?: string;
  receivedAt?: string;
}

/**
 * Lists the `done` locks of one mailbox in a scan's lock partition (see ScanLocks), that is every
 * message the scan acted on, including those its action moved out of the scanned folders.
 * @throws ScannerError `blob-unavailable` when Table storage fails.
 */
export async function listScanLockVerdicts(
  locksTable: TableClient,
  scanPartition: string,
): Promise<ScanLockVerdict[]> {
  const found: ScanLockVerdict[] = [];
  const filter = odata`PartitionKey eq ${scanPartition} and state eq ${'done'}`;
  try {
    for await (const entity of locksTable.listEntities({ queryOptions: { filter } })) {
      const row = finishedRowSchema.safeParse(entity);
      if (row.success) {
        const { rowKey, category, action, signatures, quarantineId, receivedAt } = row.data;
        found.push({ lockKey: rowKey, category, action, signatures, quarantineId, receivedAt });
      }
    }
  } catch (error) {
    throw toTableError(error, 'scan lock query');
  }
  return found;
}
