import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { before, describe, it } from 'node:test';

import type { AuthMode } from '../../src/auth/principal.js';
import type { ApiRequest } from '../../src/functions-host/registry.js';
import { QuarantineAuditLog } from '../../src/quarantine/quarantine-audit.js';
import { createSessionApi, type SessionApi } from '../../src/webui/session-api.js';
import { openUniqueTable } from '../quarantine/quarantine-test-support.js';
import { fakeMetadata, seedIndex } from './index-seeding.js';

const ADMIN_TOKEN = randomBytes(24).toString('hex');
const USER_TOKEN = randomBytes(24).toString('hex');
const USER = 'counted-user@contoso.com';
const auth: AuthMode = { kind: 'local-token', adminToken: ADMIN_TOKEN, user: { token: USER_TOKEN, mailbox: USER } };
const context = { invocationId: 'test', log: () => undefined };

function request(path: string, token?: string): ApiRequest {
  const headers = new Headers();
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  return { method: 'GET', url: new URL(`http://127.0.0.1/api/${path}`), headers, params: {}, body: Buffer.alloc(0) };
}

describe('session API', () => {
  let api: SessionApi;
  let audit: QuarantineAuditLog;

  before(async () => {
    const indexTable = await openUniqueTable('wcount');
    audit = new QuarantineAuditLog(await openUniqueTable('waudit'));
    api = createSessionApi({ auth, indexTable, audit });
    const items = [
      fakeMetadata(USER, 'spam', 1),
      fakeMetadata(USER, 'spam', 2),
      fakeMetadata(USER, 'phishing', 3),
      fakeMetadata('someone@contoso.com', 'malware', 4),
    ];
    await seedIndex(indexTable, items);
  });

  it('returns the caller and sign-in method', async () => {
    const response = await api.whoami(request('quarantine/whoami', USER_TOKEN), context);
    assert.equal(response.status, 200);
    assert.deepEqual(response.json, {
      id: 'local-user',
      mailbox: USER,
      addresses: [USER],
      isAdmin: false,
      isReader: false,
      signIn: 'local-token',
    });
  });

  it('tells an anonymous caller how to sign in', async () => {
    const response = await api.whoami(request('quarantine/whoami'), context);
    assert.equal(response.status, 401);
    assert.deepEqual(response.json, { error: 'Sign-in required', signIn: 'local-token' });
  });

  it('counts only the user\'s own items', async () => {
    const response = await api.counts(request('quarantine/counts', USER_TOKEN), context);
    assert.equal(response.status, 200);
    const body = response.json as { counts: Record<string, number>; complete: boolean };
    assert.equal(body.counts.spam, 2);
    assert.equal(body.counts.phishing, 1);
    assert.equal(body.counts.malware, 0);
    assert.equal(body.complete, true);
  });

  it('counts every item for the administrator', async () => {
    const response = await api.counts(request('quarantine/counts', ADMIN_TOKEN), context);
    const body = response.json as { counts: Record<string, number> };
    assert.equal(body.counts.malware, 1);
    assert.equal(body.counts.spam, 2);
  });

  it('rejects query parameters on whoami', async () => {
    const response = await api.whoami(request('quarantine/whoami?x=1', USER_TOKEN), context);
    assert.equal(response.status, 400);
    assert.match((response.json as { error: string }).error, /x: unknown parameter/);
  });

  it('lists at most ten unknown parameters', async () => {
    const query = Array.from({ length: 2000 }, (_, index) => `p${index}=1`).join('&');
    const response = await api.counts(request(`quarantine/counts?${query}`, ADMIN_TOKEN), context);
    assert.equal(response.status, 400);
    const error = (response.json as { error: string }).error;
    assert.match(error, /p9 and 1990 more: unknown parameter$/);
    assert.ok(error.length < 200, error);
  });

  it('rejects query parameters', async () => {
    const response = await api.counts(request('quarantine/counts?category=spam', ADMIN_TOKEN), context);
    assert.equal(response.status, 400);
    assert.match((response.json as { error: string }).error, /category: unknown parameter/);
  });

  it('audits a counts read', async () => {
    await api.counts(request('quarantine/counts', USER_TOKEN), context);
    const page = await audit.read(`d-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`, 50);
    assert.ok(page.entries.some((entry) => entry.actorId === 'local-user' && entry.detail?.startsWith('counts')));
  });

  it('counts an item addressed to two own addresses once', async () => {
    const table = await openUniqueTable('walias');
    const primary = 'aliased-user@contoso.com';
    const alias = 'aliased-user.alias@contoso.com';
    const toBoth = fakeMetadata(primary, 'phishing', 1);
    toBoth.recipients = [primary, alias];
    const toAlias = fakeMetadata('other@contoso.com', 'spam', 2);
    toAlias.recipients = [alias];
    await seedIndex(table, [toBoth, toAlias, fakeMetadata(primary, 'spam', 3), fakeMetadata('other@contoso.com', 'malware', 4)]);
    const aliasAuth: AuthMode = {
      kind: 'local-token',
      adminToken: ADMIN_TOKEN,
      user: { token: USER_TOKEN, mailbox: primary, aliases: [alias] },
    };
    const aliasApi = createSessionApi({ auth: aliasAuth, indexTable: table, audit });
    const response = await aliasApi.counts(request('quarantine/counts', USER_TOKEN), context);
    const body = response.json as { counts: Record<string, number>; rowsRead: number };
    assert.equal(body.rowsRead, 3);
    assert.equal(body.counts.spam, 2);
    assert.equal(body.counts.phishing, 1);
    assert.equal(body.counts.malware, 0);
    const whoami = await aliasApi.whoami(request('quarantine/whoami', USER_TOKEN), context);
    assert.deepEqual((whoami.json as { addresses: string[] }).addresses, [primary, alias]);
  });

  it('stops counting at the row bound', async () => {
    const table = await openUniqueTable('wbound');
    const items = Array.from({ length: 60 }, (_, index) => fakeMetadata('bulk@contoso.com', 'spam', index));
    await seedIndex(table, items);
    const bounded = createSessionApi({ auth, indexTable: table, audit, maxCountedRows: 50 });
    const response = await bounded.counts(request('quarantine/counts', ADMIN_TOKEN), context);
    const body = response.json as { counts: Record<string, number>; complete: boolean; rowsRead: number };
    assert.equal(body.rowsRead, 50);
    assert.equal(body.counts.spam, 50);
    assert.equal(body.complete, false);
  });
});
