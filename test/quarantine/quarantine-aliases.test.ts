import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { CachedUserAddressDirectory } from '../../src/auth/user-addresses.js';
import type { ApiRequest } from '../../src/functions-host/registry.js';
import type { BulkItemResult } from '../../src/quarantine/quarantine-bulk-api.js';
import {
  addressPartition,
  type QuarantineIndex,
  type QuarantineSummary,
} from '../../src/quarantine/quarantine-index.js';
import type { ItemAction } from '../../src/quarantine/quarantine-policy.js';
import { startGraphFixture, type GraphFixture } from '../graph/graph-test-support.js';
import { fakeMetadata } from '../webui/index-seeding.js';
import {
  apiRequest,
  context,
  createQuarantineFixture,
  jsonOf,
  newItem,
  plainMessage,
  uniqueAddress,
  type QuarantineFixture,
  type TestCaller,
} from './quarantine-test-support.js';

type ListItem = QuarantineSummary & { allowedActions: ItemAction[] };
type ListPage = { items: ListItem[]; continuation?: string };

const alice = uniqueAddress('alice');
const aliceAlias = uniqueAddress('alice-alias');
const aliceOther = uniqueAddress('alice-other');
const bob = uniqueAddress('bob');
const bobAlias = uniqueAddress('bob-alias');
const carol = uniqueAddress('carol');

let graph: GraphFixture;
let fixture: QuarantineFixture;
let clock = Date.now();
let asAlice: TestCaller;
let asBob: TestCaller;
const ids: Record<string, string> = {};

async function list(caller: TestCaller, query = ''): Promise<ListPage> {
  const response = await fixture.api.list(apiRequest('GET', `quarantine/items${query}`, caller), context);
  assert.equal(response.status, 200, JSON.stringify(response.json));
  return jsonOf<ListPage>(response);
}

function bulkRequest(caller: TestCaller, body: unknown): ApiRequest {
  return { ...apiRequest('POST', 'quarantine/bulk', caller), body: Buffer.from(JSON.stringify(body)) };
}

before(async () => {
  graph = await startGraphFixture();
  const aliceUser = graph.sim.addMailbox(alice);
  graph.sim.setProxyAddresses(aliceUser.id, [
    `SMTP:${alice}`,
    `smtp:${aliceAlias}`,
    `smtp:${aliceOther}`,
    'x500:/o=ExchangeLabs/cn=Recipients/cn=alice',
  ]);
  const bobUser = graph.sim.addMailbox(bob);
  graph.sim.setProxyAddresses(bobUser.id, [`SMTP:${bob}`, `smtp:${bobAlias}`]);
  asAlice = { oid: aliceUser.id, email: alice };
  asBob = { oid: bobUser.id, email: bob };

  const userAddresses = new CachedUserAddressDirectory(graph.client, { ttlMinutes: 15, now: () => clock });
  fixture = await createQuarantineFixture({ userAddresses });
  const put = async (name: string, item: ReturnType<typeof newItem>) => {
    ids[name] = (await fixture.store.put(plainMessage(name), item)).id;
    await delay(5); // Distinct quarantine times, so newest-first order is defined.
  };
  await put('to-primary', newItem(alice));
  await put('to-alias', newItem(alice, { recipients: [aliceAlias] }));
  await put('alias-mailbox', newItem(aliceOther));
  await put('carol-to-both', newItem(carol, { recipients: [aliceAlias, alice, carol] }));
  await put('carol-only', newItem(carol));
  await put('bob-primary', newItem(bob));
  await put('bob-alias', newItem(bob, { recipients: [bobAlias] }));
});

after(async () => {
  await graph.close();
});

describe('quarantine API with aliases', () => {
  it('shows a user the items of every own address, each once, newest first', async () => {
    const page = await list(asAlice);
    assert.deepEqual(
      page.items.map((item) => item.id),
      [ids['carol-to-both'], ids['alias-mailbox'], ids['to-alias'], ids['to-primary']],
    );
  });

  it('lets a user act on an item whose mailbox is an alias', async () => {
    const page = await list(asAlice);
    const item = page.items.find((entry) => entry.id === ids['alias-mailbox']);
    assert.deepEqual(item?.allowedActions, ['download', 'release', 'delete']);
    const other = page.items.find((entry) => entry.id === ids['carol-to-both']);
    assert.deepEqual(other?.allowedActions, ['download'], 'an item of another mailbox is only seen');
  });

  it('filters by one own alias', async () => {
    const page = await list(asAlice, `?recipient=${encodeURIComponent(aliceAlias.toUpperCase())}`);
    assert.deepEqual(page.items.map((item) => item.id), [ids['carol-to-both'], ids['to-alias']]);
  });

  it('returns nothing for a recipient filter naming another user or their alias', async () => {
    for (const address of [bob, bobAlias, carol]) {
      const page = await list(asAlice, `?recipient=${encodeURIComponent(address)}`);
      assert.deepEqual(page.items, [], address === bob ? 'primary' : 'alias or other');
    }
  });

  it('keeps a mailbox filter inside the own partitions', async () => {
    const page = await list(asAlice, `?mailbox=${encodeURIComponent(carol)}`);
    assert.deepEqual(page.items.map((item) => item.id), [ids['carol-to-both']]);
    assert.deepEqual((await list(asAlice, `?mailbox=${encodeURIComponent(bob)}`)).items, []);
  });

  it('returns 404 for a guessed id of another user\'s alias item', async () => {
    const id = ids['bob-alias']!;
    const routes = [
      fixture.api.item(apiRequest('GET', `quarantine/items/${id}`, asAlice, { id }), context),
      fixture.api.message(apiRequest('GET', `quarantine/items/${id}/message`, asAlice, { id }), context),
      fixture.api.release(apiRequest('POST', `quarantine/items/${id}/release`, asAlice, { id }), context),
      fixture.api.requestRelease(apiRequest('POST', `quarantine/items/${id}/release-requests`, asAlice, { id }), context),
      fixture.api.item(apiRequest('DELETE', `quarantine/items/${id}`, asAlice, { id }), context),
    ];
    for (const response of await Promise.all(routes)) {
      assert.equal(response.status, 404);
    }
    const bobView = await fixture.api.item(apiRequest('GET', `quarantine/items/${id}`, asBob, { id }), context);
    assert.equal(bobView.status, 200, 'the owner of the alias sees it');
  });

  it('finds nothing of another user through a bulk filter or bulk ids', async () => {
    const byFilter = await fixture.api.bulk(bulkRequest(asAlice, { action: 'delete', filter: { recipient: bobAlias } }), context);
    assert.equal(byFilter.status, 200);
    assert.deepEqual(jsonOf<{ results: BulkItemResult[] }>(byFilter).results, []);
    const byIds = await fixture.api.bulk(
      bulkRequest(asAlice, { action: 'delete', ids: [ids['bob-alias'], ids['bob-primary']] }),
      context,
    );
    const results = jsonOf<{ results: BulkItemResult[] }>(byIds).results;
    assert.deepEqual(results.map((result) => result.status), [404, 404]);
    assert.equal((await list(asBob)).items.length, 2, 'Bob still has both items');
  });

  it('bulk-deletes by a filter across own aliases, each item once', async () => {
    const target = await fixture.store.put(plainMessage('bulk'), newItem(aliceOther, { recipients: [aliceOther, alice], subject: 'Bulk target' }));
    const response = await fixture.api.bulk(bulkRequest(asAlice, { action: 'delete', filter: { q: 'Bulk target' } }), context);
    const results = jsonOf<{ results: BulkItemResult[] }>(response).results;
    assert.deepEqual(results, [{ id: target.id, status: 204, error: undefined, code: undefined }]);
  });

  it('does not grant another user\'s addresses to a forged address claim', async () => {
    // Bob's object id with Alice's address in the claim: the aliases come from Bob's object id.
    const forged: TestCaller = { oid: asBob.oid, email: alice };
    const page = await list(forged);
    assert.deepEqual(page.items.map((item) => item.id).sort(), [ids['bob-alias'], ids['bob-primary']].sort());
    const id = ids['to-primary']!;
    const view = await fixture.api.item(apiRequest('GET', `quarantine/items/${id}`, forged, { id }), context);
    assert.equal(view.status, 404);
  });
});

describe('quarantine API when the alias lookup fails', () => {
  it('falls back to the claim address only', async () => {
    const dana = uniqueAddress('dana');
    const danaAlias = uniqueAddress('dana-alias');
    const user = graph.sim.addMailbox(dana);
    graph.sim.setProxyAddresses(user.id, [`SMTP:${dana}`, `smtp:${danaAlias}`]);
    const primary = await fixture.store.put(plainMessage('dana-1'), newItem(dana));
    const aliasOnly = await fixture.store.put(plainMessage('dana-2'), newItem(carol, { recipients: [danaAlias] }));
    graph.sim.addFault({ pathIncludes: `/users/${user.id}`, status: 503, code: 'ServiceUnavailable', times: 50 });
    const asDana: TestCaller = { oid: user.id, email: dana };

    const page = await list(asDana);
    assert.deepEqual(page.items.map((item) => item.id), [primary.id]);
    const view = await fixture.api.item(apiRequest('GET', `quarantine/items/${aliasOnly.id}`, asDana, { id: aliasOnly.id }), context);
    assert.equal(view.status, 404);
  });

  it('gives an unknown user only the claim address', async () => {
    const ghost: TestCaller = { oid: '6e3b7c52-1f0a-4d8e-9a51-2c7d0b4f8e11', email: alice };
    const page = await list(ghost);
    // Only items indexed under the claim address: the alias-mailbox item stays hidden.
    assert.deepEqual(
      page.items.map((item) => item.id),
      [ids['carol-to-both'], ids['to-alias'], ids['to-primary']],
    );
  });
});

describe('quarantine API alias cache', () => {
  it('picks up a changed alias list after the cache time', async () => {
    const erin = uniqueAddress('erin');
    const oldAlias = uniqueAddress('erin-old');
    const newAlias = uniqueAddress('erin-new');
    const user = graph.sim.addMailbox(erin);
    graph.sim.setProxyAddresses(user.id, [`SMTP:${erin}`, `smtp:${oldAlias}`]);
    const toOld = await fixture.store.put(plainMessage('erin-old'), newItem(carol, { recipients: [oldAlias] }));
    const toNew = await fixture.store.put(plainMessage('erin-new'), newItem(carol, { recipients: [newAlias] }));
    const asErin: TestCaller = { oid: user.id, email: erin };
    assert.deepEqual((await list(asErin)).items.map((item) => item.id), [toOld.id]);

    graph.sim.setProxyAddresses(user.id, [`SMTP:${erin}`, `smtp:${newAlias}`]);
    clock += 14 * 60_000;
    assert.deepEqual((await list(asErin)).items.map((item) => item.id), [toOld.id], 'still cached');
    clock += 2 * 60_000;
    assert.deepEqual((await list(asErin)).items.map((item) => item.id), [toNew.id]);
  });
});

describe('QuarantineIndex.query across partitions', () => {
  const gina = uniqueAddress('gina');
  const ginaAliases = [uniqueAddress('gina-a'), uniqueAddress('gina-b')];
  const addresses = [gina, ...ginaAliases];
  let index: QuarantineIndex;
  let expected: string[];

  before(async () => {
    // The list route reads only the index, so rows without blobs are enough here.
    index = fixture.index;
    const items = Array.from({ length: 250 }, (_, n) => {
      const item = fakeMetadata(addresses[n % 3]!, n % 5 === 0 ? 'phishing' : 'spam', n);
      // Every seventh item is addressed to two of the addresses, so it has two address rows.
      if (n % 7 === 0) {
        item.recipients = [addresses[n % 3]!, addresses[(n + 1) % 3]!];
      }
      return item;
    });
    // Another user's items interleaved in time, which must never appear.
    items.push(...Array.from({ length: 40 }, (_, n) => fakeMetadata(uniqueAddress('other'), 'spam', n)));
    await index.addBatch(items);
    expected = items
      .filter((item) => addresses.includes(item.mailbox!))
      .sort((a, b) => b.quarantinedAt.localeCompare(a.quarantinedAt))
      .map((item) => item.id);
  });

  async function readAll(limit: number, maxScannedRows: number, category?: 'spam'): Promise<string[]> {
    const partitionKeys = addresses.map(addressPartition);
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 300; page += 1) {
      const result = await index.query({ partitionKeys, limit, maxScannedRows, after, category });
      assert.ok(result.items.length <= limit);
      seen.push(...result.items.map((item) => item.id));
      if (result.after === undefined) {
        return seen;
      }
      after = result.after;
    }
    throw new Error('paging did not end');
  }

  it('pages 250 items over 3 addresses, each once, newest first', async () => {
    const seen = await readAll(100, 1000);
    assert.equal(seen.length, 250);
    assert.equal(new Set(seen).size, 250);
    assert.deepEqual(seen, expected);
  });

  it('resumes correctly when the read bound cuts a page short', async () => {
    const seen = await readAll(100, 25);
    assert.deepEqual(seen, expected);
  });

  it('pages with a filter and an odd page size', async () => {
    const seen = await readAll(7, 1000, 'spam');
    assert.equal(seen.length, 200);
    assert.equal(new Set(seen).size, 200);
  });

  it('pages the list route across partitions with a continuation token', async () => {
    const user = graph.sim.addMailbox(gina);
    graph.sim.setProxyAddresses(user.id, [`SMTP:${gina}`, ...ginaAliases.map((alias) => `smtp:${alias}`)]);
    const asGina: TestCaller = { oid: user.id, email: gina };
    const seen: string[] = [];
    const sizes: number[] = [];
    let query = '?limit=100';
    for (let page = 0; page < 10; page += 1) {
      const body = await list(asGina, query);
      sizes.push(body.items.length);
      seen.push(...body.items.map((item) => item.id));
      if (body.continuation === undefined) {
        break;
      }
      query = `?limit=100&continuation=${body.continuation}`;
    }
    assert.deepEqual(sizes, [100, 100, 50]);
    assert.deepEqual(seen, expected);
  });
});
