import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { QuarantineSummary } from '../../src/quarantine/quarantine-index.js';
import type { AuditEntry } from '../../src/quarantine/quarantine-audit.js';
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

type ListPage = { items: QuarantineSummary[]; continuation?: string };

const alice = uniqueAddress('alice');
const bob = uniqueAddress('bob');
const carol = uniqueAddress('carol');
const asAlice: TestCaller = { oid: 'oid-alice', email: alice.toUpperCase() };
const asBob: TestCaller = { oid: 'oid-bob', email: bob };
const asAdmin: TestCaller = { oid: 'oid-admin', email: 'admin@contoso.com', roles: ['Mailsweep.Admin'] };
const asReader: TestCaller = { oid: 'oid-reader', email: 'reader@contoso.com', roles: ['Mailsweep.Reader'] };

let fixture: QuarantineFixture;
const ids: Record<string, string> = {};

async function list(caller: TestCaller, query = ''): Promise<ListPage> {
  const response = await fixture.api.list(apiRequest('GET', `quarantine/items${query}`, caller), context);
  assert.equal(response.status, 200, JSON.stringify(response.json));
  return jsonOf<ListPage>(response);
}

function preview(caller: TestCaller | undefined, id: string) {
  return fixture.api.item(apiRequest('GET', `quarantine/items/${id}`, caller, { id }), context);
}

function download(caller: TestCaller, id: string) {
  return fixture.api.message(apiRequest('GET', `quarantine/items/${id}/message`, caller, { id }), context);
}

function remove(caller: TestCaller, id: string) {
  return fixture.api.item(apiRequest('DELETE', `quarantine/items/${id}`, caller, { id }), context);
}

async function auditOf(id: string): Promise<AuditEntry[]> {
  return (await fixture.audit.read(`i-${id}`, 100)).entries;
}

before(async () => {
  fixture = await createQuarantineFixture();
  const put = async (name: string, raw: Buffer, item: ReturnType<typeof newItem>) => {
    ids[name] = (await fixture.store.put(raw, item)).id;
    await delay(5); // Distinct quarantine times, so newest-first order is defined.
  };
  await put('alice-spam', plainMessage('Cheap watches'), newItem(alice));
  await put(
    'alice-malware',
    plainMessage('Invoice overdue'),
    newItem(alice, {
      sender: "o'brien@fabrikam.com",
      verdict: {
        category: 'malware',
        action: 'quarantine',
        findings: [finding('malware', 'Eicar-Test-Signature', '2')],
        durationMs: 1,
      },
    }),
  );
  await put('bob-spam', plainMessage('Bob only'), newItem(bob));
  // In Carol's mailbox, addressed to Carol and to Alice.
  await put('carol-to-alice', plainMessage('Team lunch'), newItem(carol, { recipients: [carol, alice], subject: 'Team lunch' }));
});

describe('quarantine API authentication', () => {
  it('rejects a request without an identity', async () => {
    const response = await fixture.api.list(apiRequest('GET', 'quarantine/items', undefined), context);
    assert.equal(response.status, 401);
  });

  it('ignores x-ms-client-principal in local-token mode', async () => {
    const local = await createQuarantineFixture({
      auth: { kind: 'local-token', adminToken: 'a-local-admin-token-of-32-characters' },
    });
    const response = await local.api.list(apiRequest('GET', 'quarantine/items', asAdmin), context);
    assert.equal(response.status, 401);
  });

  it('rejects a malformed identity header', async () => {
    const request = apiRequest('GET', 'quarantine/items', undefined);
    request.headers.set('x-ms-client-principal', 'not base64 json');
    const response = await fixture.api.list(request, context);
    assert.equal(response.status, 401);
  });
});

describe('GET /api/quarantine/items', () => {
  it('shows a user only their own items, newest first', async () => {
    const page = await list(asAlice);
    assert.deepEqual(
      page.items.map((item) => item.id),
      [ids['carol-to-alice'], ids['alice-malware'], ids['alice-spam']],
    );
  });

  it('never shows a user the items of another user', async () => {
    const page = await list(asBob);
    assert.deepEqual(page.items.map((item) => item.id), [ids['bob-spam']]);
  });

  it('keeps a user inside their items when filtering by another address', async () => {
    assert.deepEqual((await list(asAlice, `?recipient=${encodeURIComponent(bob)}`)).items, []);
    assert.deepEqual((await list(asAlice, `?mailbox=${encodeURIComponent(bob)}`)).items, []);
  });

  it('shows an administrator every item', async () => {
    const page = await list(asAdmin);
    assert.equal(page.items.length, 4);
  });

  it('shows a reader every item', async () => {
    const page = await list(asReader);
    assert.equal(page.items.length, 4);
  });

  it('filters by mailbox and recipient', async () => {
    const byMailbox = await list(asAdmin, `?mailbox=${encodeURIComponent(alice)}`);
    assert.deepEqual(byMailbox.items.map((item) => item.id).sort(), [ids['alice-malware'], ids['alice-spam']].sort());
    const byRecipient = await list(asAdmin, `?recipient=${encodeURIComponent(alice)}`);
    assert.equal(byRecipient.items.length, 3);
  });

  it('filters by category, signature and sender', async () => {
    const malware = await list(asAdmin, '?category=malware');
    assert.deepEqual(malware.items.map((item) => item.id), [ids['alice-malware']]);
    const bySignature = await list(asAdmin, '?signature=Eicar-Test-Signature');
    assert.deepEqual(bySignature.items.map((item) => item.id), [ids['alice-malware']]);
    const bySender = await list(asAdmin, `?sender=${encodeURIComponent("O'Brien@fabrikam.com")}`);
    assert.deepEqual(bySender.items.map((item) => item.id), [ids['alice-malware']]);
  });

  it('matches subject text case-insensitively', async () => {
    const page = await list(asAdmin, '?q=LUNCH');
    assert.deepEqual(page.items.map((item) => item.id), [ids['carol-to-alice']]);
  });

  it('filters by quarantine time', async () => {
    const future = new Date(Date.now() + 60_000).toISOString();
    assert.deepEqual((await list(asAdmin, `?from=${encodeURIComponent(future)}`)).items, []);
    const past = new Date(Date.now() - 3_600_000).toISOString();
    assert.equal((await list(asAdmin, `?from=${encodeURIComponent(past)}`)).items.length, 4);
    assert.deepEqual((await list(asAdmin, `?to=${encodeURIComponent(past)}`)).items, []);
  });

  it('filters by date-only bounds as UTC days', async () => {
    const days = (await list(asAdmin)).items.map((item) => item.quarantinedAt.slice(0, 10)).sort();
    const first = days[0] ?? '';
    const last = days.at(-1) ?? '';
    const dayBefore = new Date(Date.parse(first) - 86_400_000).toISOString().slice(0, 10);
    const dayAfter = new Date(Date.parse(last) + 86_400_000).toISOString().slice(0, 10);

    assert.equal((await list(asAdmin, `?from=${first}&to=${last}`)).items.length, 4);
    assert.equal((await list(asAdmin, `?to=${last}`)).items.length, 4, 'to includes its whole day');
    assert.deepEqual((await list(asAdmin, `?to=${dayBefore}`)).items, []);
    assert.deepEqual((await list(asAdmin, `?from=${dayAfter}`)).items, []);
  });

  it('pages with a continuation token without repeats', async () => {
    const seen: string[] = [];
    let query = '?limit=1';
    for (let page = 0; page < 10; page += 1) {
      const result = await list(asAdmin, query);
      seen.push(...result.items.map((item) => item.id));
      if (result.continuation === undefined) {
        break;
      }
      query = `?limit=1&continuation=${result.continuation}`;
    }
    const all = (await list(asAdmin)).items.map((item) => item.id);
    assert.deepEqual(seen, all);
  });

  it('keeps a user inside their items with a token from an administrator page', async () => {
    const adminPage = await list(asAdmin, '?limit=1');
    assert.ok(adminPage.continuation);
    const page = await list(asBob, `?continuation=${adminPage.continuation}`);
    assert.ok(page.items.every((item) => item.mailbox === bob));
  });

  it('treats quotes in a sender filter as data', async () => {
    const injected = encodeURIComponent("x'or'1'eq'1@contoso.com");
    const page = await list(asAdmin, `?sender=${injected}`);
    assert.deepEqual(page.items, []);
  });

  it('names the invalid field in a 400', async () => {
    const cases: [string, string][] = [
      ['?limit=0', 'limit'],
      ['?limit=501', 'limit'],
      ['?category=virus', 'category'],
      ['?sender=not-an-address', 'sender'],
      ['?from=yesterday', 'from'],
      ['?from=2027-13-01', 'from'],
      ['?to=2027-01-01T08:00:00', 'to'],
      ['?continuation=bm9wZQ', 'continuation'],
      ['?colour=red', 'colour'],
      ['?limit=1&limit=2', 'limit'],
    ];
    for (const [query, field] of cases) {
      const response = await fixture.api.list(apiRequest('GET', `quarantine/items${query}`, asAdmin), context);
      assert.equal(response.status, 400, query);
      assert.match(jsonOf<{ error: string }>(response).error, new RegExp(field), query);
    }
  });

  it('records each listing in the audit log', async () => {
    await list(asBob, '?category=spam');
    const today = (await fixture.audit.read(`d-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`, 500)).entries;
    const entry = today.find((candidate) => candidate.actorId === 'oid-bob' && candidate.action === 'list');
    assert.ok(entry);
    assert.equal(entry.result, 'ok');
    assert.equal(entry.actorRole, 'user');
    assert.equal(entry.clientIp, '203.0.113.7:51234');
    assert.match(entry.detail ?? '', /filters=category/);
  });
});

describe('GET /api/quarantine/items/{id}', () => {
  it('returns metadata and a text preview to the owner', async () => {
    const response = await preview(asAlice, ids['alice-spam'] ?? '');
    assert.equal(response.status, 200);
    const body = jsonOf<{ item: { id: string }; preview: { body: string; headers: { name: string }[] } }>(response);
    assert.equal(body.item.id, ids['alice-spam']);
    assert.match(body.preview.body, /^Hello /);
    assert.ok(body.preview.headers.some((header) => header.name === 'subject'));
    assert.equal(response.headers?.['x-content-type-options'], 'nosniff');
  });

  it('returns an item addressed to the user in another mailbox', async () => {
    const response = await preview(asAlice, ids['carol-to-alice'] ?? '');
    assert.equal(response.status, 200);
  });

  it('returns 404 for another user\'s item, as for an unknown id', async () => {
    const other = await preview(asAlice, ids['bob-spam'] ?? '');
    const unknown = await preview(asAlice, '0'.repeat(32));
    assert.equal(other.status, 404);
    assert.equal(unknown.status, 404);
    assert.deepEqual(other.json, unknown.json);
    const entries = await auditOf(ids['bob-spam'] ?? '');
    assert.ok(entries.some((entry) => entry.actorId === 'oid-alice' && entry.result === 'not-found'));
  });

  it('rejects unknown and repeated query parameters', async () => {
    const id = ids['alice-spam'] ?? '';
    for (const query of ['?x=1', '?limit=1', '?a=1&a=2']) {
      for (const method of ['GET', 'DELETE']) {
        const request = apiRequest(method, `quarantine/items/${id}${query}`, asAlice, { id });
        const response = await fixture.api.item(request, context);
        assert.equal(response.status, 400, `${method} ${query}`);
        assert.match(String((response.json as { error: string }).error), /^invalid query: /);
      }
    }
    assert.equal((await preview(asAlice, id)).status, 200, 'the item is still there');
  });

  it('rejects ids that are not 32 lowercase hex characters', async () => {
    const bad = ['..%2f..%2fmetadata', '%2e%2e', `${'a'.repeat(31)}\u0000`, 'A'.repeat(32), 'a'.repeat(33), ''];
    for (const id of bad) {
      const response = await preview(asAdmin, id);
      assert.equal(response.status, 400, JSON.stringify(id));
    }
  });
});

describe('GET /api/quarantine/items/{id}/message', () => {
  it('returns the stored bytes as an attachment', async () => {
    const id = ids['alice-spam'] ?? '';
    const response = await download(asAlice, id);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, await fixture.store.getContent(id));
    assert.equal(response.headers?.['content-type'], 'application/octet-stream');
    assert.equal(response.headers?.['content-disposition'], `attachment; filename="${id}.eml"`);
    assert.equal(response.headers?.['x-content-type-options'], 'nosniff');
  });

  it('refuses a user the download of their malware', async () => {
    const response = await download(asAlice, ids['alice-malware'] ?? '');
    assert.equal(response.status, 403);
    assert.equal(response.body, undefined);
  });

  it('zips malware with the password infected by default', async () => {
    const id = ids['alice-malware'] ?? '';
    const response = await download(asAdmin, id);
    assert.equal(response.status, 200);
    assert.equal(response.headers?.['content-type'], 'application/zip');
    assert.equal(response.headers?.['content-disposition'], `attachment; filename="${id}.zip"`);
    const extracted = await unzipWith(response.body as Buffer, 'infected', `${id}.eml`);
    assert.equal(extracted.code, 0);
    assert.deepEqual(extracted.stdout, await fixture.store.getContent(id));
    const wrong = await unzipWith(response.body as Buffer, 'wrong', `${id}.eml`);
    assert.notEqual(wrong.code, 0);
    assert.notDeepEqual(wrong.stdout, await fixture.store.getContent(id));
  });

  it('returns the plain message with format=eml', async () => {
    const id = ids['alice-malware'] ?? '';
    const request = apiRequest('GET', `quarantine/items/${id}/message?format=eml`, asAdmin, { id });
    const response = await fixture.api.message(request, context);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, await fixture.store.getContent(id));
  });

  it('rejects an unknown format', async () => {
    const id = ids['alice-spam'] ?? '';
    const request = apiRequest('GET', `quarantine/items/${id}/message?format=rar`, asAlice, { id });
    const response = await fixture.api.message(request, context);
    assert.equal(response.status, 400);
    assert.match(jsonOf<{ error: string }>(response).error, /format/);
  });

  it('returns 404 for another user\'s item', async () => {
    const response = await download(asBob, ids['alice-malware'] ?? '');
    assert.equal(response.status, 404);
    assert.equal(response.body, undefined);
  });

  it('lets a reader download', async () => {
    const response = await download(asReader, ids['bob-spam'] ?? '');
    assert.equal(response.status, 200);
  });
});

describe('unscannable items', () => {
  // A zip nested past the depth limit may hide malware the scanner never saw, so a user treats
  // such an item like malware.
  let unscannable: QuarantineFixture;
  let id = '';
  const owner: TestCaller = { oid: 'oid-owner', email: uniqueAddress('owner') };

  before(async () => {
    unscannable = await createQuarantineFixture();
    const item = newItem(owner.email ?? '', {
      verdict: {
        category: 'unscannable',
        action: 'quarantine',
        findings: [finding('unscannable', 'limit.archive-depth', '2')],
        durationMs: 1,
      },
    });
    id = (await unscannable.store.put(plainMessage('Nested archive'), item)).id;
  });

  const downloadFrom = (caller: TestCaller, query = '') =>
    unscannable.api.message(apiRequest('GET', `quarantine/items/${id}/message${query}`, caller, { id }), context);

  it('refuses its owner a download, plain or zipped', async () => {
    const plain = await downloadFrom(owner, '?format=eml');
    const zipped = await downloadFrom(owner, '?format=zip');

    assert.equal(plain.status, 403);
    assert.equal(plain.body, undefined);
    assert.equal(zipped.status, 403);
    assert.equal(zipped.body, undefined);
  });

  it('offers its owner only a release request and delete', async () => {
    const request = apiRequest('GET', `quarantine/items/${id}`, owner, { id });
    const view = await unscannable.api.item(request, context);
    const listed = await unscannable.api.list(apiRequest('GET', 'quarantine/items', owner), context);

    const viewActions = jsonOf<{ item: { allowedActions: string[] } }>(view).item.allowedActions;
    assert.deepEqual(viewActions, ['request-release', 'delete']);
    const [row] = jsonOf<{ items: { allowedActions: string[] }[] }>(listed).items;
    assert.deepEqual(row?.allowedActions, ['request-release', 'delete']);
  });

  it('zips it for an administrator by default', async () => {
    const response = await downloadFrom(asAdmin);

    assert.equal(response.status, 200);
    assert.equal(response.headers?.['content-type'], 'application/zip');
    const extracted = await unzipWith(response.body as Buffer, 'infected', `${id}.eml`);
    assert.equal(extracted.code, 0);
    assert.deepEqual(extracted.stdout, await unscannable.store.getContent(id));
  });
});

describe('allowedActions', () => {
  it('lists what each caller may do on list rows', async () => {
    const actionsOf = async (caller: TestCaller, name: string) => {
      const page = await list(caller);
      return (page.items as (QuarantineSummary & { allowedActions: string[] })[]).find(
        (item) => item.id === ids[name],
      )?.allowedActions;
    };
    assert.deepEqual(await actionsOf(asAlice, 'alice-spam'), ['download', 'release', 'delete']);
    assert.deepEqual(await actionsOf(asAlice, 'alice-malware'), ['request-release', 'delete']);
    assert.deepEqual(await actionsOf(asAlice, 'carol-to-alice'), ['download']);
    assert.deepEqual(await actionsOf(asAdmin, 'alice-malware'), ['download', 'release', 'delete']);
    assert.deepEqual(await actionsOf(asReader, 'alice-malware'), ['download']);
  });

  it('matches the item view', async () => {
    const response = await preview(asAlice, ids['alice-malware'] ?? '');
    const item = jsonOf<{ item: { allowedActions: string[] } }>(response).item;
    assert.deepEqual(item.allowedActions, ['request-release', 'delete']);
  });
});

/** Extracts one entry with the system's unzip (Debian's unzip 6.0) and a password. */
async function unzipWith(zip: Buffer, password: string, entry: string): Promise<{ code: number | null; stdout: Buffer }> {
  const directory = await mkdtemp(join(tmpdir(), 'mailsweep-zip-'));
  const path = join(directory, 'item.zip');
  await writeFile(path, zip);
  const child = spawn('unzip', ['-p', '-P', password, path, entry], { stdio: ['ignore', 'pipe', 'ignore'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const [code] = (await once(child, 'close')) as [number | null];
  await rm(directory, { recursive: true, force: true });
  return { code, stdout: Buffer.concat(chunks) };
}

describe('GET /api/quarantine/audit', () => {
  it('admits administrators only', async () => {
    const response = await fixture.api.audit(apiRequest('GET', 'quarantine/audit', asReader), context);
    assert.equal(response.status, 403);
  });

  it('returns the entries of one item', async () => {
    const id = ids['alice-malware'] ?? '';
    await download(asAlice, id);
    const response = await fixture.api.audit(apiRequest('GET', `quarantine/audit?id=${id}`, asAdmin), context);
    assert.equal(response.status, 200);
    const entries = jsonOf<{ entries: AuditEntry[] }>(response).entries;
    assert.ok(entries.some((entry) => entry.action === 'download' && entry.actorId === 'oid-alice'));
  });

  it('rejects an invalid day', async () => {
    const response = await fixture.api.audit(apiRequest('GET', 'quarantine/audit?day=2025-13-01', asAdmin), context);
    assert.equal(response.status, 400);
  });
});

describe('DELETE /api/quarantine/items/{id}', () => {
  it('returns 404 to a user deleting another user\'s item', async () => {
    const response = await remove(asBob, ids['alice-spam'] ?? '');
    assert.equal(response.status, 404);
    assert.equal((await preview(asAlice, ids['alice-spam'] ?? '')).status, 200);
  });

  it('forbids a reader to delete', async () => {
    const response = await remove(asReader, ids['alice-spam'] ?? '');
    assert.equal(response.status, 403);
  });

  it('forbids a recipient to delete from another mailbox', async () => {
    const response = await remove(asAlice, ids['carol-to-alice'] ?? '');
    assert.equal(response.status, 403);
  });

  it('deletes the owner\'s item from the store and the index', async () => {
    const id = ids['alice-spam'] ?? '';
    const response = await remove(asAlice, id);
    assert.equal(response.status, 204);
    assert.equal((await preview(asAdmin, id)).status, 404);
    assert.ok(!(await list(asAlice)).items.some((item) => item.id === id));
    assert.ok(!(await list(asAdmin)).items.some((item) => item.id === id));
    const entries = await auditOf(id);
    assert.ok(entries.some((entry) => entry.action === 'delete' && entry.result === 'ok'));
  });

  it('lets an administrator delete any item', async () => {
    const id = ids['bob-spam'] ?? '';
    assert.equal((await remove(asAdmin, id)).status, 204);
    assert.deepEqual((await list(asBob)).items, []);
  });
});
