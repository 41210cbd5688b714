import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createQuarantineContainerClient } from '../../src/quarantine/blob-container.js';
import { RuleSetError } from '../../src/rules/rule-errors.js';
import { createStoreRuleSource } from '../../src/rules/rule-source.js';
import { createRuleStore } from '../../src/rules/rule-store.js';
import { ScannerError } from '../../src/shared/errors.js';
import {
  createRecordingLogger,
  testQuarantineSettings,
} from '../quarantine/azurite-test-support.js';

const ruleSet = (name: string, extra: Record<string, unknown> = {}) => ({
  ...extra,
  rules: [
    {
      name,
      conditions: [{ field: 'subject', operator: 'contains', value: 'x' }],
      actions: [{ type: 'log' }],
    },
  ],
});

function openStore() {
  const container = createQuarantineContainerClient({ settings: testQuarantineSettings('rules') });
  return { container, store: createRuleStore(container, 100) };
}

describe('rule store', () => {
  it('stores numbered versions and reads the latest', async () => {
    const { store, container } = openStore();
    assert.equal(await store.read(), undefined);
    const first = await store.write(ruleSet('one'), { updatedBy: 'admin-1' });
    const second = await store.write(ruleSet('two'), { updatedBy: 'admin-2', expectedVersion: 1 });
    assert.equal(first.version, 1);
    assert.equal(second.version, 2);
    const read = await store.read();
    assert.equal(read?.version, 2);
    assert.equal(read?.updatedBy, 'admin-2');
    assert.deepEqual(read?.ruleSet, ruleSet('two'));
    const names = [];
    for await (const blob of container.listBlobsFlat({ prefix: 'versions/' })) {
      names.push(blob.name);
    }
    assert.deepEqual(names, ['versions/00000001.json', 'versions/00000002.json']);
  });

  it('rejects an invalid set and keeps the one in force', async () => {
    const { store } = openStore();
    await store.write(ruleSet('good'), { updatedBy: 'admin' });
    await assert.rejects(store.write({ rules: [] }, { updatedBy: 'admin' }), RuleSetError);
    assert.equal((await store.read())?.version, 1);
  });

  it('rejects a write based on an old version', async () => {
    const { store } = openStore();
    await store.write(ruleSet('one'), { updatedBy: 'admin' });
    await store.write(ruleSet('two'), { updatedBy: 'admin' });
    await assert.rejects(
      store.write(ruleSet('three'), { updatedBy: 'admin', expectedVersion: 1 }),
      (error: unknown) => error instanceof ScannerError && error.code === 'blob-conflict',
    );
    assert.equal((await store.read())?.version, 2);
  });

  it('lets one of two racing writes win', async () => {
    const { store } = openStore();
    await store.write(ruleSet('base'), { updatedBy: 'admin' });
    const results = await Promise.allSettled([
      store.write(ruleSet('a'), { updatedBy: 'admin', expectedVersion: 1 }),
      store.write(ruleSet('b'), { updatedBy: 'admin', expectedVersion: 1 }),
    ]);
    assert.equal(results.filter((result) => result.status === 'fulfilled').length, 1);
    assert.equal((await store.read())?.version, 2);
  });

  it('reads list files from list blobs', async () => {
    const { store, container } = openStore();
    await container.createIfNotExists();
    await container.getBlockBlobClient('lists/partners.txt').upload('partner.example\n', 16);
    const withList = {
      lists: { partners: { file: 'partners.txt' } },
      rules: [
        {
          name: 'p',
          conditions: [{ field: 'sender.domain', operator: 'inList', value: 'partners' }],
          actions: [{ type: 'log' }],
        },
      ],
    };
    assert.equal((await store.write(withList, { updatedBy: 'admin' })).version, 1);
    const missing = { ...withList, lists: { partners: { file: 'absent.txt' } } };
    await assert.rejects(
      store.write(missing, { updatedBy: 'admin' }),
      /file "absent.txt" was not found/,
    );
    const traversal = { ...withList, lists: { partners: { file: '../current.json' } } };
    await assert.rejects(store.write(traversal, { updatedBy: 'admin' }), /could not be read/);
  });
});

describe('store rule source', () => {
  it('follows new versions and keeps the previous one when a version fails', async () => {
    const { store, container } = openStore();
    const logger = createRecordingLogger();
    const source = createStoreRuleSource({ store, logger, refreshMs: 0 });
    await source.refresh();
    assert.equal(source.current(), undefined);

    await container.createIfNotExists();
    await container.getBlockBlobClient('lists/vip.txt').upload('ceo@contoso.com\n', 16);
    const withList = {
      lists: { vip: { file: 'vip.txt' } },
      rules: [
        {
          name: 'vip',
          conditions: [{ field: 'sender.address', operator: 'inList', value: 'vip' }],
          actions: [{ type: 'log' }],
        },
      ],
    };
    await store.write(withList, { updatedBy: 'admin' });
    await source.refresh();
    assert.equal(source.current()?.version, 1);

    // Version 2 compiles when stored; then its list blob disappears before scanners load it.
    await store.write({ ...withList, mode: 'log-only' }, { updatedBy: 'admin' });
    await container.getBlockBlobClient('lists/vip.txt').delete();
    await source.refresh();
    assert.equal(source.current()?.version, 1, 'the previous version stays in force');
    const rejected = logger.lines.find((line) => line.level === 'error');
    assert.equal(rejected?.fields?.version, 2);
    assert.equal(rejected?.fields?.inForce, 1);
  });
});
