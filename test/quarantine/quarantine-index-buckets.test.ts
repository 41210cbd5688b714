import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';

import {
  ALL_PARTITION,
  addressPartition,
  allPartitionOf,
  QuarantineIndex,
  toIndexRowKey,
} from '../../src/quarantine/quarantine-index.js';
import type { QuarantineMetadata } from '../../src/quarantine/quarantine-types.js';
import type { Category } from '../../src/scanning/types.js';
import { openUniqueTable } from './quarantine-test-support.js';

const DAY_MS = 86_400_000;
const NOW = Date.UTC(2026, 11, 4, 12);

/** Items 9 hours apart over 10 days, so that they fall into about 9 `all` partitions. */
function spreadItems(count: number, mailbox: string): QuarantineMetadata[] {
  const items: QuarantineMetadata[] = [];
  for (let index = 0; index < count; index += 1) {
    const quarantinedAt = new Date(NOW - index * 9 * 3_600_000).toISOString();
    const category: Category = index % 3 === 0 ? 'malware' : 'spam';
    items.push({
      id: randomBytes(16).toString('hex'),
      mailbox,
      recipients: [mailbox],
      sender: 'sender@fabrikam.com',
      subject: index % 4 === 0 ? `Invoice ${index}` : `Message ${index}`,
      size: 100,
      sha256: '0'.repeat(64),
      verdict: { category, action: 'quarantine', findings: [], durationMs: 1 },
      quarantinedAt,
      expiresAt: new Date(Date.parse(quarantinedAt) + 5 * DAY_MS).toISOString(),
    });
  }
  return items;
}

/** Reads the whole scope in pages of `limit`, following each continuation. */
async function readAll(
  index: QuarantineIndex,
  scope: string,
  filters: { category?: Category; subjectText?: string; from?: Date; to?: Date } = {},
  limit = 7,
): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < 100; page += 1) {
    const result = await index.query({ partitionKeys: [scope], ...filters, after, limit, maxScannedRows: 1000 });
    ids.push(...result.items.map((item) => item.id));
    if (result.after === undefined) {
      return ids;
    }
    after = result.after;
  }
  throw new Error('paging did not end');
}

describe('QuarantineIndex over time-bucketed partitions', () => {
  const mailbox = `buckets-${randomBytes(4).toString('hex')}@contoso.com`;
  const items = spreadItems(27, mailbox);
  const newestFirst = [...items].sort((a, b) => Date.parse(b.quarantinedAt) - Date.parse(a.quarantinedAt));
  let index: QuarantineIndex;

  before(async () => {
    index = new QuarantineIndex(await openUniqueTable('qbuckets'));
    await index.addBatch(items.slice(0, 20));
    for (const item of items.slice(20)) {
      await index.add(item);
    }
  });

  it('spreads the items over several partitions', () => {
    const partitions = new Set(items.map((item) => allPartitionOf(toIndexRowKey(item.quarantinedAt, item.id))));
    assert.ok(partitions.size >= 8, `expected at least 8 partitions, got ${partitions.size}`);
  });

  it('lists every item newest first across partitions', async () => {
    const ids = await readAll(index, ALL_PARTITION);
    assert.deepEqual(ids, newestFirst.map((item) => item.id));
  });

  it('lists the same order from the address partition', async () => {
    const ids = await readAll(index, addressPartition(mailbox));
    assert.deepEqual(ids, newestFirst.map((item) => item.id));
  });

  it('applies filters across partitions', async () => {
    const malware = await readAll(index, ALL_PARTITION, { category: 'malware' }, 2);
    const expectedMalware = newestFirst.filter((item) => item.verdict.category === 'malware');
    assert.deepEqual(malware, expectedMalware.map((item) => item.id));

    const invoices = await readAll(index, ALL_PARTITION, { subjectText: 'invoice' }, 3);
    const expectedInvoices = newestFirst.filter((item) => item.subject?.startsWith('Invoice'));
    assert.deepEqual(invoices, expectedInvoices.map((item) => item.id));
  });

  it('keeps a time window that crosses partitions', async () => {
    const from = new Date(NOW - 6 * DAY_MS);
    const to = new Date(NOW - 2 * DAY_MS);
    const ids = await readAll(index, ALL_PARTITION, { from, to }, 4);
    const expected = newestFirst.filter((item) => {
      const time = Date.parse(item.quarantinedAt);
      return time >= from.getTime() && time <= to.getTime();
    });
    assert.ok(expected.length > 8);
    assert.deepEqual(ids, expected.map((item) => item.id));
  });

  it('updates and finds the row of an old item', async () => {
    const oldest = newestFirst.at(-1)!;
    const row = await index.findRow(oldest);
    assert.ok(row !== undefined);
    await index.setLegalHold(row, true);
    assert.equal(await index.isOnHold(row.rowKey), true);
    await index.markReleased(row, new Date(NOW));
    const released = await index.findRow(oldest);
    assert.equal(released?.releasedAt, new Date(NOW).toISOString());
  });

  it('lists expired items from every partition and skips held ones', async () => {
    const expired = await index.listExpired(new Date(NOW), 100);
    const expected = items.filter((item) => Date.parse(item.expiresAt) <= NOW && item !== newestFirst.at(-1));
    assert.deepEqual(new Set(expired.map((row) => row.id)), new Set(expected.map((item) => item.id)));
  });

  it('removes an item from its partition', async () => {
    const second = newestFirst[1]!;
    const row = await index.findRow(second);
    assert.ok(row !== undefined);
    await index.removeAddressRows(row.rowKey, row.addressPartitions);
    await index.removeAllRow(row.rowKey);
    assert.equal(await index.findRow(second), undefined);
    const ids = await readAll(index, ALL_PARTITION);
    assert.equal(ids.includes(second.id), false);
    assert.equal(ids.length, items.length - 1);
  });
});
