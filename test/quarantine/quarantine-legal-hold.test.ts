import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { BlobServiceClient } from '@azure/storage-blob';

import { createBlobQuarantineStore } from '../../src/quarantine/blob-quarantine-store.js';
import { purgeExpiredItems } from '../../src/quarantine/quarantine-retention.js';
import { silentLogger } from '../../src/shared/logger.js';
import { requireAzuriteConnectionString, testQuarantineSettings } from './azurite-test-support.js';
import {
  apiRequest,
  context,
  createQuarantineFixture,
  finding,
  jsonOf,
  newItem,
  plainMessage,
  uniqueAddress,
  type QuarantineFixture,
  type TestCaller,
} from './quarantine-test-support.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const admin: TestCaller = { oid: 'oid-admin', roles: ['Mailsweep.Admin'] };

function setHold(fixture: QuarantineFixture, caller: TestCaller, id: string, body: unknown) {
  const request = apiRequest('PUT', `quarantine/items/${id}/legal-hold`, caller, { id });
  request.body = Buffer.from(JSON.stringify(body));
  return fixture.api.legalHold(request, context);
}

/** Reads the blob index tags of both blobs of an item. */
async function tagsOf(container: string, id: string): Promise<Record<string, string>[]> {
  const service = BlobServiceClient.fromConnectionString(requireAzuriteConnectionString());
  const client = service.getContainerClient(container);
  const tags = [];
  for (const name of [`items/${id}/message.eml`, `items/${id}/metadata.json`]) {
    tags.push((await client.getBlobClient(name).getTags()).tags);
  }
  return tags;
}

describe('legal hold', () => {
  it('keeps a held item through retention and delete', async () => {
    const fixture = await createQuarantineFixture({ retentionDays: 1 });
    const owner = uniqueAddress('held');
    const { id } = await fixture.store.put(plainMessage(), newItem(owner));
    const options = { store: fixture.store, index: fixture.index, audit: fixture.audit, logger: silentLogger };

    const held = await setHold(fixture, admin, id, { hold: true });
    assert.equal(held.status, 200, JSON.stringify(held.json));
    const purge = await purgeExpiredItems({ ...options, now: new Date(Date.now() + 3 * DAY_MS) });
    assert.deepEqual(purge, { purged: 0, failed: 0 });
    const removal = apiRequest('DELETE', `quarantine/items/${id}`, admin, { id });
    const deleted = await fixture.api.item(removal, context);
    assert.equal(deleted.status, 403);
    assert.match(jsonOf<{ error: string }>(deleted).error, /legal hold/);
    assert.equal((await fixture.store.getMetadata(id)).id, id);

    assert.equal((await setHold(fixture, admin, id, { hold: false })).status, 200);
    const after = await purgeExpiredItems({ ...options, now: new Date(Date.now() + 3 * DAY_MS) });
    assert.deepEqual(after, { purged: 1, failed: 0 });
  });

  it('tags both blobs for the lifecycle rule', async () => {
    const settings = testQuarantineSettings('qhold');
    const store = createBlobQuarantineStore({ settings, logger: silentLogger });
    const { id } = await store.put(plainMessage(), newItem(uniqueAddress('tags')));
    assert.deepEqual(await tagsOf(settings.container, id), [{ retention: 'spam' }, { retention: 'spam' }]);

    await store.setRetentionTag?.(id, 'hold');
    assert.deepEqual(await tagsOf(settings.container, id), [{ retention: 'hold' }, { retention: 'hold' }]);
    const again = await store.put(await store.getContent(id), newItem((await store.getMetadata(id)).mailbox ?? ''));
    assert.equal(again.created, false);
    assert.deepEqual(await tagsOf(settings.container, id), [{ retention: 'hold' }, { retention: 'hold' }]);
  });

  it('admits only administrators and validates the body', async () => {
    const fixture = await createQuarantineFixture();
    const owner = uniqueAddress('holder');
    const { id } = await fixture.store.put(plainMessage(), newItem(owner));

    assert.equal((await setHold(fixture, { oid: 'o', email: owner }, id, { hold: true })).status, 403);
    const invalid = await setHold(fixture, admin, id, { hold: 'yes' });
    assert.equal(invalid.status, 400);
    assert.match(jsonOf<{ error: string }>(invalid).error, /hold:/);
  });
});

describe('retention per category', () => {
  it('fixes expiry from the category days', async () => {
    const settings = {
      ...testQuarantineSettings('qdays'),
      retentionDays: 7,
      retentionDaysByCategory: { malware: 30, phishing: 30, spam: 15 },
    };
    const store = createBlobQuarantineStore({ settings, logger: silentLogger });
    const mailbox = uniqueAddress('days');
    const verdict = (category: 'malware' | 'spam' | 'policy') => ({
      category,
      action: 'quarantine' as const,
      findings: [finding(category, 'Test.Finding')],
      durationMs: 1,
    });
    const daysOf = async (category: 'malware' | 'spam' | 'policy') => {
      const { id } = await store.put(plainMessage(), newItem(mailbox, { verdict: verdict(category) }));
      const metadata = await store.getMetadata(id);
      return (Date.parse(metadata.expiresAt) - Date.parse(metadata.quarantinedAt)) / DAY_MS;
    };

    assert.equal(await daysOf('malware'), 30);
    assert.equal(await daysOf('spam'), 15);
    assert.equal(await daysOf('policy'), 7);
  });
});
