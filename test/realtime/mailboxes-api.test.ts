import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import '../../functions/index.js';
import type { LocalHost } from '../../src/functions-host/local-host.js';
import { overrideRealtimeServices } from '../../src/realtime/provider.js';
import type { RealtimeServices } from '../../src/realtime/services.js';
import { InMemoryGraph } from '../helpers/in-memory-graph.js';
import { ADMIN_TOKEN, createTestServices, startTestHost } from '../helpers/realtime-fixture.js';

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe('/api/mailboxes', () => {
  let host: LocalHost;
  let services: RealtimeServices;
  let graph: InMemoryGraph;
  let url: string;

  before(async () => {
    graph = new InMemoryGraph();
    const started = await startTestHost(
      async (baseUrl) => (await createTestServices({ baseUrl, graph })).services,
    );
    host = started.host;
    services = started.services;
    url = `${host.url}/api/mailboxes`;
  });
  after(async () => {
    overrideRealtimeServices(undefined);
    await host.close();
  });

  it('answers 401 without a token', async () => {
    const response = await fetch(url);
    assert.equal(response.status, 401);
  });

  it('rejects query parameters', async () => {
    const response = await fetch(`${url}?x=1`, { headers: admin });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { error: string }).error, /x: unknown parameter/);
  });

  it('answers 401 with a wrong token', async () => {
    const response = await fetch(url, { headers: { authorization: 'Bearer wrong' } });
    assert.equal(response.status, 401);
  });

  it('adds a mailbox and subscribes it at once', async () => {
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ address: 'New.User@Contoso.com' }),
    });
    assert.equal(response.status, 201);
    const body = (await response.json()) as { mailbox: { mailbox: string; state: string } };
    assert.equal(body.mailbox.mailbox, 'new.user@contoso.com');
    assert.equal(body.mailbox.state, 'active');
    assert.equal(graph.subscriptionsOf('new.user@contoso.com').length, 1);
  });

  it('answers 200 for a mailbox added twice', async () => {
    const add = () =>
      fetch(url, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ address: 'twice@contoso.com' }),
      });
    assert.equal((await add()).status, 201);
    const second = await add();
    assert.equal(second.status, 200);
    assert.equal(graph.subscriptionsOf('twice@contoso.com').length, 1);
  });

  it('answers 404 for an address with no user', async () => {
    graph.unknownUsers.add('nobody@contoso.com');
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ address: 'nobody@contoso.com' }),
    });
    assert.equal(response.status, 404);
    assert.equal(await services.mailboxes.get('nobody@contoso.com'), undefined);
    assert.equal(graph.subscriptionsOf('nobody@contoso.com').length, 0);
  });

  it('lists mailboxes with their state', async () => {
    const response = await fetch(url, { headers: admin });
    assert.equal(response.status, 200);
    const body = (await response.json()) as { mailboxes: { mailbox: string; etag?: string }[] };
    const entry = body.mailboxes.find((m) => m.mailbox === 'new.user@contoso.com');
    assert.ok(entry);
    assert.equal(entry.etag, undefined);
  });

  const badBodies: [string, string, RegExp][] = [
    ['malformed JSON', '{"address":', /^invalid body: must be a JSON object$/],
    [
      'an address with markup',
      JSON.stringify({ address: '<a>@contoso.com' }),
      /address: must be an email address/,
    ],
    [
      'an address without a domain',
      JSON.stringify({ address: 'user' }),
      /address: must be an email address/,
    ],
    [
      'an unknown field',
      JSON.stringify({ address: 'a@contoso.com', admin: true }),
      /admin: unknown parameter/,
    ],
    ['a group id that is not a GUID', JSON.stringify({ groupId: 'all-users' }), /groupId: /],
    ['an empty body', '', /address: .* or groupId: /],
  ];
  for (const [name, body, error] of badBodies) {
    it(`rejects ${name} with 400`, async () => {
      const response = await fetch(url, { method: 'POST', headers: admin, body });
      assert.equal(response.status, 400);
      assert.match(((await response.json()) as { error: string }).error, error);
    });
  }

  it('adds the members of a group', async () => {
    const groupId = '2f0e0d0c-0b0a-4909-8807-060504030201';
    graph.groups.set(groupId, ['g1@contoso.com', 'g2@contoso.com']);
    const response = await fetch(url, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ groupId }),
    });
    assert.equal(response.status, 201);
    assert.deepEqual(await response.json(), { groupId, members: 2 });
    assert.equal((await services.mailboxes.get('g1@contoso.com'))?.groupIds[0], groupId);
  });

  it('keeps nothing of a group that Graph does not know', async () => {
    const groupId = '00000000-0000-0000-0000-000000000000';
    const response = await fetch(url, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ groupId }),
    });
    assert.equal(response.status, 400);
    const groups = await services.mailboxes.listGroups();
    assert.equal(groups.some((group) => group.groupId === groupId), false);
  });

  it('removes a mailbox and its subscription', async () => {
    const [subscription] = graph.subscriptionsOf('new.user@contoso.com');
    const response = await fetch(`${url}/${encodeURIComponent('new.user@contoso.com')}`, {
      method: 'DELETE',
      headers: admin,
    });
    assert.equal(response.status, 204);
    assert.equal(await services.mailboxes.get('new.user@contoso.com'), undefined);
    assert.equal(graph.subscriptions.has(subscription?.id ?? ''), false);
    assert.equal(await services.subscriptions.get(subscription?.id ?? ''), undefined);
  });

  it('answers 404 for a mailbox not monitored', async () => {
    const response = await fetch(`${url}/nobody%40contoso.com`, {
      method: 'DELETE',
      headers: admin,
    });
    assert.equal(response.status, 404);
  });

  it('answers 405 for an unsupported method', async () => {
    const response = await fetch(url, { method: 'PUT', headers: admin });
    assert.equal(response.status, 405);
    assert.match(response.headers.get('allow') ?? '', /GET/);
  });
});

describe('/api/mailboxes with App Service authentication', () => {
  let host: LocalHost;

  before(async () => {
    const started = await startTestHost(
      async (baseUrl) =>
        (await createTestServices({ baseUrl, env: { MAILSWEEP_AUTH_MODE: 'app-service' } }))
          .services,
    );
    host = started.host;
  });
  after(async () => {
    overrideRealtimeServices(undefined);
    await host.close();
  });

  const principal = (roles: string[]) =>
    Buffer.from(
      JSON.stringify({
        auth_typ: 'aad',
        claims: [
          { typ: 'oid', val: '3f0e0d0c-0b0a-4909-8807-060504030201' },
          ...roles.map((role) => ({ typ: 'roles', val: role })),
        ],
      }),
    ).toString('base64');

  it('answers 403 for a signed-in user without the admin role', async () => {
    const response = await fetch(`${host.url}/api/mailboxes`, {
      headers: { 'x-ms-client-principal': principal([]) },
    });
    assert.equal(response.status, 403);
  });

  it('admits the admin role', async () => {
    const response = await fetch(`${host.url}/api/mailboxes`, {
      headers: { 'x-ms-client-principal': principal(['Mailsweep.Admin']) },
    });
    assert.equal(response.status, 200);
  });

  it('answers 401 for /api/status without a principal', async () => {
    const response = await fetch(`${host.url}/api/status`);
    assert.equal(response.status, 401);
  });
});
