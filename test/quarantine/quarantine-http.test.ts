import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { startLocalHost, type LocalHost } from '../../src/functions-host/local-host.js';
import { registeredFunctions } from '../../src/functions-host/registry.js';
import { getQuarantineRuntime } from '../../src/quarantine/quarantine-runtime.js';
import { silentLogger } from '../../src/shared/logger.js';
import { newItem, plainMessage, principalHeader, uniqueAddress } from './quarantine-test-support.js';

// The functions read settings from the environment, as in Azure, so the test sets them first.
const ADMIN_TOKEN = randomBytes(24).toString('hex');
const USER_TOKEN = randomBytes(24).toString('hex');
const userAddress = uniqueAddress('httpuser');
process.env.MAILSWEEP_AUTH_MODE = 'local-token';
process.env.MAILSWEEP_LOCAL_ADMIN_TOKEN = ADMIN_TOKEN;
process.env.MAILSWEEP_LOCAL_USER_TOKEN = USER_TOKEN;
process.env.MAILSWEEP_LOCAL_USER_ADDRESS = userAddress;
process.env.MAILSWEEP_QUARANTINE_CONTAINER = `qhttp-${randomBytes(6).toString('hex')}`;
await import('../../functions/quarantine.js');

describe('quarantine routes over HTTP', () => {
  let host: LocalHost;
  let ownId: string;
  let otherId: string;

  before(async () => {
    const http = registeredFunctions().http.filter((route) => route.route.startsWith('quarantine'));
    host = await startLocalHost({
      port: 0,
      logger: silentLogger,
      functions: { http, timers: [], queues: [] },
      runTimers: false,
    });
    const { store } = await getQuarantineRuntime();
    ownId = (await store.put(plainMessage(), newItem(userAddress))).id;
    otherId = (await store.put(plainMessage(), newItem(uniqueAddress('other')))).id;
  });
  after(async () => {
    await host.close();
  });

  const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
    fetch(`${host.url}/api/${path}`, {
      headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
    });

  it('lists only the local user\'s items', async () => {
    const response = await get('quarantine/items', USER_TOKEN);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { items: { id: string }[] };
    assert.deepEqual(body.items.map((item) => item.id), [ownId]);
  });

  it('returns 404 to the local user for another item', async () => {
    assert.equal((await get(`quarantine/items/${otherId}`, USER_TOKEN)).status, 404);
    assert.equal((await get(`quarantine/items/${otherId}/message`, USER_TOKEN)).status, 404);
  });

  it('rejects a forged client principal without App Service', async () => {
    const forged = principalHeader({ oid: 'forged', roles: ['Mailsweep.Admin'] });
    const response = await get('quarantine/items', undefined, { 'x-ms-client-principal': forged });
    assert.equal(response.status, 401);
  });

  it('downloads the message as an attachment', async () => {
    const response = await get(`quarantine/items/${ownId}/message`, ADMIN_TOKEN);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'application/octet-stream');
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.match(response.headers.get('content-disposition') ?? '', /^attachment; filename="[0-9a-f]{32}\.eml"$/);
    const { store } = await getQuarantineRuntime();
    assert.deepEqual(Buffer.from(await response.arrayBuffer()), await store.getContent(ownId));
  });

  it('rejects ids with path segments or encoded dots', async () => {
    for (const id of ['%2e%2e', '..%2f..%2fmetadata.json', `${ownId}%00`, ownId.toUpperCase()]) {
      const response = await get(`quarantine/items/${id}`, ADMIN_TOKEN);
      assert.ok(response.status === 400 || response.status === 404, `${id}: ${response.status}`);
    }
  });

  it('returns 413 for an oversized body', async () => {
    const response = await fetch(`${host.url}/api/quarantine/items/${ownId}/release`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      body: 'x'.repeat(4096),
    });
    assert.equal(response.status, 413);
  });
});
