import { randomBytes } from 'node:crypto';

import type { TableClient, TransactionAction } from '@azure/data-tables';

import { toIndexEntities } from '../../src/quarantine/quarantine-index.js';
import type { QuarantineMetadata } from '../../src/quarantine/quarantine-types.js';
import type { Category } from '../../src/scanning/types.js';

/** Metadata of a fake item; only the fields the index rows use matter. */
export function fakeMetadata(
  mailbox: string,
  category: Category,
  index: number,
  base = Date.UTC(2026, 0, 1),
  spacingMs = 1000,
): QuarantineMetadata {
  const time = new Date(base + index * spacingMs).toISOString();
  return {
    id: randomBytes(16).toString('hex'),
    mailbox,
    recipients: [mailbox],
    sender: 'sender@fabrikam.com',
    subject: `Item ${index}`,
    size: 100,
    sha256: '0'.repeat(64),
    verdict: { category, action: 'quarantine', findings: [], durationMs: 1 },
    quarantinedAt: time,
    receivedAt: time,
    expiresAt: new Date(Date.parse(time) + 30 * 86_400_000).toISOString(),
  };
}

/** Writes index rows in batches of 100 per partition, as Table transactions allow. */
export async function seedIndex(table: TableClient, items: QuarantineMetadata[]): Promise<void> {
  const byPartition = new Map<string, TransactionAction[]>();
  for (const item of items) {
    for (const entity of toIndexEntities(item)) {
      const list = byPartition.get(entity.partitionKey) ?? [];
      list.push(['upsert', entity, 'Replace']);
      byPartition.set(entity.partitionKey, list);
    }
  }
  for (const actions of byPartition.values()) {
    for (let start = 0; start < actions.length; start += 100) {
      await table.submitTransaction(actions.slice(start, start + 100));
    }
  }
}
