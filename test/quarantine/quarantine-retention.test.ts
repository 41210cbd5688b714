import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { rebuildQuarantineIndex } from '../../src/quarantine/indexed-store.js';
import { ALL_PARTITION, addressPartition, QuarantineIndex } from '../../src/quarantine/quarantine-index.js';
import { purgeExpiredItems } from '../../src/quarantine/quarantine-retention.js';
import { createBlobQuarantineStore } from '../../src/quarantine/blob-quarantine-store.js';
import { ScannerError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createRecordingLogger, testQuarantineSettings } from './azurite-test-support.js';
import {
  createQuarantineFixture,
  newItem,
  openUniqueTable,
  plainMessage,
  uniqueAddress,
} from './quarantine-test-support.js';

const DAY_MS = 24 * 60 * 60 * 1000;

async function countRows(index: QuarantineIndex, partitionKey: string): Promise<number> {
  const page = await index.query({ partitionKeys: [partitionKey], limit: 500, maxScannedRows: 5000 });
  return page.items.length;
}

describe('purgeExpiredItems', () => {
  it('removes expired items, their index rows, and audits each', async () => {
    const fixture = await createQuarantineFixture({ retentionDays: 1 });
    const mailbox = uniqueAddress('retention');
    const { id } = await fixture.store.put(plainMessage(), newItem(mailbox));
    const options = { store: fixture.store, index: fixture.index, audit: fixture.audit, logger: silentLogger };

    const early = await purgeExpiredItems({ ...options, now: new Date(Date.now() + DAY_MS / 2) });
    assert.deepEqual(early, { purged: 0, failed: 0 });
    assert.equal((await fixture.store.getMetadata(id)).id, id);

    const late = await purgeExpiredItems({ ...options, now: new Date(Date.now() + 2 * DAY_MS) });

    assert.deepEqual(late, { purged: 1, failed: 0 });
    await assert.rejects(fixture.store.getMetadata(id), (error: unknown) => {
      return error instanceof ScannerError && error.code === 'quarantine-not-found';
    });
    assert.equal(await countRows(fixture.index, ALL_PARTITION), 0);
    assert.equal(await countRows(fixture.index, addressPartition(mailbox)), 0);
    const entries = (await fixture.audit.read(`i-${id}`, 10)).entries;
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.action, 'purge');
    assert.equal(entries[0]?.actorId, 'system:retention');
  });

  it('finishes an item whose blobs are already gone', async () => {
    const fixture = await createQuarantineFixture({ retentionDays: 1 });
    const mailbox = uniqueAddress('halfway');
    const { id } = await fixture.store.put(plainMessage(), newItem(mailbox));
    await fixture.store.delete(id);
    const logger = createRecordingLogger();

    const result = await purgeExpiredItems({
      store: fixture.store,
      index: fixture.index,
      audit: fixture.audit,
      logger,
      now: new Date(Date.now() + 2 * DAY_MS),
    });

    assert.deepEqual(result, { purged: 1, failed: 0 });
    assert.equal(await countRows(fixture.index, ALL_PARTITION), 0);
    assert.equal(await countRows(fixture.index, addressPartition(mailbox)), 0);
  });

  it('stops at the per-run maximum', async () => {
    const fixture = await createQuarantineFixture({ retentionDays: 1 });
    for (let count = 0; count < 3; count += 1) {
      await fixture.store.put(plainMessage(), newItem(uniqueAddress('max')));
    }
    const options = { store: fixture.store, index: fixture.index, audit: fixture.audit, logger: silentLogger };
    const now = new Date(Date.now() + 2 * DAY_MS);

    assert.deepEqual(await purgeExpiredItems({ ...options, now, maxItems: 2 }), { purged: 2, failed: 0 });
    assert.deepEqual(await purgeExpiredItems({ ...options, now, maxItems: 2 }), { purged: 1, failed: 0 });
  });
});

describe('rebuildQuarantineIndex', () => {
  it('indexes items stored without the index', async () => {
    const store = createBlobQuarantineStore({ settings: testQuarantineSettings('rebuild'), logger: silentLogger });
    const index = new QuarantineIndex(await openUniqueTable('rebuild'));
    const mailbox = uniqueAddress('rebuild');
    await store.put(plainMessage(), newItem(mailbox, { recipients: ['Other@Contoso.com'] }));
    await store.put(plainMessage(), newItem(mailbox));

    assert.equal(await rebuildQuarantineIndex(store, index, silentLogger), 2);
    assert.equal(await rebuildQuarantineIndex(store, index, silentLogger), 2);

    assert.equal(await countRows(index, ALL_PARTITION), 2);
    assert.equal(await countRows(index, addressPartition(mailbox)), 2);
    assert.equal(await countRows(index, addressPartition('other@contoso.com')), 1);
  });
});

describe('QuarantineStore.delete', () => {
  it('reports whether the item existed', async () => {
    const store = createBlobQuarantineStore({ settings: testQuarantineSettings('delete'), logger: silentLogger });
    const { id } = await store.put(plainMessage(), newItem(uniqueAddress('delete')));

    assert.equal(await store.delete(id), true);
    assert.equal(await store.delete(id), false);
    await assert.rejects(store.getContent(id));
  });

  it('rejects an invalid id', async () => {
    const store = createBlobQuarantineStore({ settings: testQuarantineSettings('delete'), logger: silentLogger });
    await assert.rejects(store.delete('../items'), (error: unknown) => {
      return error instanceof ScannerError && error.code === 'quarantine-not-found';
    });
  });
});
