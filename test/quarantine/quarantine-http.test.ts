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
const userAlias = uniqueAddress('httpalias');
process.env.MAILSWEEP_AUTH_MODE = 'local-token';
process.env.MAILSWEEP_LOCAL_ADMIN_TOKEN = ADMIN_TOKEN;
process.env.MAILSWEEP_LOCAL_USER_TOKEN = USER_TOKEN;
process.env.MAILSWEEP_LOCAL_USER_ADDRESS = userAddress;
process.env.MAILSWEEP_LOCAL_USER_ALIASES = userAlias;
process.env.MAILSWEEP_QUARANTINE_CONTAINER = `qhttp-${randomBytes(6).toString('hex')}`;
process.env.MAILSWEEP_QUARANTINE_MAX_BULK_ITEMS = '3';
await import('../../functions/quarantine.js');
await import('../../functions/openapi.js');

describe('quarantine routes over HTTP', () => {
  let host: LocalHost;
  let ownId: string;
  let aliasId: string;
  let otherId: string;

  before(async () => {
    const http = registeredFunctions().http.filter(
      (route) => route.route.startsWith('quarantine') || route.route === 'openapi.json',
    );
    host = await startLocalHost({
      port: 0,
      logger: silentLogger,
      functions: { http, timers: [], queues: [] },
      runTimers: false,
    });
    const { store } = await getQuarantineRuntime();
    ownId = (await store.put(plainMessage(), newItem(userAddress))).id;
    otherId = (await store.put(plainMessage(), newItem(uniqueAddress('other')))).id;
    await new Promise((resolve) => setTimeout(resolve, 5)); // A later quarantine time.
    aliasId = (await store.put(plainMessage(), newItem(uniqueAddress('shared'), { recipients: [userAlias] }))).id;
  });
  after(async () => {
    await host.close();
  });

  const get = (path: string, token?: string, headers: Record<string, string> = {}) =>
    fetch(`${host.url}/api/${path}`, {
      headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
    });

  it('lists only the local user\'s items, aliases included', async () => {
    const response = await get('quarantine/items', USER_TOKEN);
    assert.equal(response.status, 200);
    const body = (await response.json()) as { items: { id: string }[] };
    assert.deepEqual(body.items.map((item) => item.id), [aliasId, ownId]);
    const byAlias = (await (await get(`quarantine/items?recipient=${userAlias}`, USER_TOKEN)).json()) as { items: { id: string }[] };
    assert.deepEqual(byAlias.items.map((item) => item.id), [aliasId]);
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

  const send = (method: string, path: string, token: string, body: string) =>
    fetch(`${host.url}/api/${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body,
    });

  it('returns 413 for an oversized body', async () => {
    const release = await send('POST', `quarantine/items/${ownId}/release`, ADMIN_TOKEN, 'x'.repeat(17 * 1024));
    assert.equal(release.status, 413);
    const hold = await send('PUT', `quarantine/items/${ownId}/legal-hold`, ADMIN_TOKEN, 'x'.repeat(4096));
    assert.equal(hold.status, 413);
    const bulk = await send('POST', 'quarantine/bulk', ADMIN_TOKEN, 'x'.repeat(65 * 1024));
    assert.equal(bulk.status, 413);
  });

  it('returns 413 for a bulk request over the item limit', async () => {
    const ids = Array.from({ length: 4 }, () => randomBytes(16).toString('hex'));
    const response = await send('POST', 'quarantine/bulk', ADMIN_TOKEN, JSON.stringify({ action: 'delete', ids }));
    assert.equal(response.status, 413);
    const { store } = await getQuarantineRuntime();
    assert.equal((await store.getMetadata(ownId)).id, ownId);
  });

  it('returns 413 for a bulk filter matching too many items', async () => {
    const { store } = await getQuarantineRuntime();
    const crowd = uniqueAddress('crowd');
    for (let index = 0; index < 4; index += 1) {
      await store.put(plainMessage(), newItem(crowd));
    }
    const body = JSON.stringify({ action: 'delete', filter: { mailbox: crowd } });
    const response = await send('POST', 'quarantine/bulk', ADMIN_TOKEN, body);
    assert.equal(response.status, 413);
    const listed = (await (await get(`quarantine/items?mailbox=${crowd}`, ADMIN_TOKEN)).json()) as { items: unknown[] };
    assert.equal(listed.items.length, 4);
  });

  it('deletes in bulk with a result per item', async () => {
    const { store } = await getQuarantineRuntime();
    const mine = (await store.put(plainMessage(), newItem(userAddress))).id;
    const body = JSON.stringify({ action: 'delete', ids: [mine, otherId] });
    const response = await send('POST', 'quarantine/bulk', USER_TOKEN, body);
    assert.equal(response.status, 200);
    const { results } = (await response.json()) as { results: { id: string; status: number }[] };
    assert.deepEqual(results.map((result) => [result.id, result.status]), [[mine, 204], [otherId, 404]]);
    assert.equal((await store.getMetadata(otherId)).id, otherId);
  });

  it('rejects unsafe ids on every item route', async () => {
    const unsafe = ['%2e%2e', '..%2f..%2fmetadata.json', `${ownId}%00`, `%00${ownId.slice(1)}`, ownId.toUpperCase()];
    for (const id of unsafe) {
      for (const [method, path] of [
        ['POST', `quarantine/items/${id}/release`],
        ['POST', `quarantine/items/${id}/release-requests`],
        ['PUT', `quarantine/items/${id}/legal-hold`],
        ['POST', `quarantine/release-requests/${id}/approve`],
      ] as const) {
        const response = await send(method, path, ADMIN_TOKEN, method === 'PUT' ? '{"hold":true}' : '{}');
        // URL parsing turns `%2e%2e` into `..`, so that path can land on another route: 405.
        assert.ok([400, 404, 405].includes(response.status), `${method} ${path}: ${response.status}`);
      }
    }
  });

  it('keeps filter values out of the storage query', async () => {
    for (const injection of ["' or PartitionKey ne '", "x' or '1' eq '1"]) {
      const response = await get(`quarantine/items?sender=${encodeURIComponent(`a${injection}@fabrikam.com`)}`, USER_TOKEN);
      assert.ok(response.status === 200 || response.status === 400, String(response.status));
      if (response.status === 200) {
        const body = (await response.json()) as { items: unknown[] };
        assert.equal(body.items.length, 0);
      }
      const text = await get(`quarantine/items?q=${encodeURIComponent(injection)}`, USER_TOKEN);
      assert.equal(text.status, 200);
      assert.equal(((await text.json()) as { items: unknown[] }).items.length, 0);
    }
  });

  it('serves the OpenAPI document to signed-in callers', async () => {
    assert.equal((await get('openapi.json')).status, 401);
    const response = await get('openapi.json', USER_TOKEN);
    assert.equal(response.status, 200);
    const document = (await response.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    assert.equal(document.openapi, '3.1.0');
    for (const path of [
      '/quarantine/items',
      '/quarantine/items/{id}',
      '/quarantine/items/{id}/message',
      '/quarantine/items/{id}/release',
      '/quarantine/items/{id}/release-requests',
      '/quarantine/items/{id}/legal-hold',
      '/quarantine/release-requests',
      '/quarantine/release-requests/{requestId}/approve',
      '/quarantine/release-requests/{requestId}/deny',
      '/quarantine/bulk',
      '/quarantine/audit',
    ]) {
      assert.ok(document.paths[path], path);
    }
  });
});
