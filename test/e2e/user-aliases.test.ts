import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { getQuarantineRuntime } from '../../src/quarantine/quarantine-runtime.js';
import { newItem, plainMessage, principalHeader, uniqueAddress } from '../quarantine/quarantine-test-support.js';
import { startLoopHarness, type LoopHarness } from './loop-harness.js';

// The real functions in App Service mode, wired to the Graph simulator as production wires Graph.
describe('user aliases through the wired functions', () => {
  let harness: LoopHarness;
  const primary = uniqueAddress('wired-user');
  const alias = uniqueAddress('wired-alias');
  let header: string;
  let objectId: string;
  const ids: Record<string, string> = {};

  before(async () => {
    harness = await startLoopHarness({
      env: {
        MAILSWEEP_AUTH_MODE: 'app-service',
        MAILSWEEP_QUARANTINE_CONTAINER: `qalias-${randomBytes(6).toString('hex')}`,
      },
    });
    const user = harness.sim.addMailbox(primary);
    harness.sim.setProxyAddresses(user.id, [`SMTP:${primary}`, `smtp:${alias}`, 'SIP:wired@contoso.com']);
    objectId = user.id;
    header = principalHeader({ oid: user.id, email: primary });
    const { store } = await getQuarantineRuntime();
    ids.primary = (await store.put(plainMessage('primary'), newItem(primary))).id;
    await new Promise((resolve) => setTimeout(resolve, 5));
    ids.alias = (await store.put(plainMessage('alias'), newItem(uniqueAddress('shared'), { recipients: [alias, primary] }))).id;
    ids.other = (await store.put(plainMessage('other'), newItem(uniqueAddress('stranger')))).id;
  });

  after(async () => {
    await harness.close();
  });

  const asUser = (path: string) =>
    fetch(`${harness.host.url}/api/${path}`, { headers: { 'x-ms-client-principal': header } });

  it('lists items of the primary address and the alias once each', async () => {
    const response = await asUser('quarantine/items');
    assert.equal(response.status, 200);
    const body = (await response.json()) as { items: { id: string }[] };
    assert.deepEqual(body.items.map((item) => item.id), [ids.alias, ids.primary]);
  });

  it('returns the addresses from Graph in whoami', async () => {
    const response = await asUser('quarantine/whoami');
    const body = (await response.json()) as { addresses: string[] };
    assert.deepEqual(body.addresses, [primary, alias]);
  });

  it('counts an item addressed to both addresses once', async () => {
    const response = await asUser('quarantine/counts');
    const body = (await response.json()) as { counts: Record<string, number>; rowsRead: number };
    assert.equal(body.rowsRead, 2);
    assert.equal(body.counts.spam, 2);
  });

  it('looks the user up once by object id and caches it', async () => {
    const lookups = harness.sim.requestLog.filter((entry) => entry.path === `/users/${objectId}`);
    assert.equal(lookups.length, 1);
    assert.equal(lookups[0]?.status, 200);
  });
});
