import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { loadSettings } from '../../src/config/settings.js';
import { createQuarantineApi, type QuarantineApi } from '../../src/quarantine/quarantine-api.js';
import type { AuditEntry } from '../../src/quarantine/quarantine-audit.js';
import { ReleasedMessages } from '../../src/quarantine/released-messages.js';
import { ReleaseRequestStore, type ReleaseRequest } from '../../src/quarantine/release-requests.js';
import type { NewQuarantineItem } from '../../src/quarantine/quarantine-types.js';
import { ScannerError } from '../../src/shared/errors.js';
import { InMemoryMailbox } from '../helpers/in-memory-mailbox.js';
import {
  apiRequest,
  context,
  createQuarantineFixture,
  finding,
  jsonOf,
  newItem,
  openUniqueTable,
  plainMessage,
  uniqueAddress,
  type QuarantineFixture,
  type TestCaller,
} from './quarantine-test-support.js';

const HIDDEN_FOLDER = 'mailsweep quarantine';

const admin: TestCaller = { oid: 'oid-admin', email: 'admin@contoso.com', roles: ['Mailsweep.Admin'] };

interface ReleaseSetup {
  fixture: QuarantineFixture;
  api: QuarantineApi;
  mailbox: InMemoryMailbox;
  requests: ReleaseRequestStore;
  memory: ReleasedMessages;
  address: string;
  owner: TestCaller;
}

async function setUp(): Promise<ReleaseSetup> {
  const fixture = await createQuarantineFixture();
  const mailbox = new InMemoryMailbox();
  const requests = new ReleaseRequestStore(await openUniqueTable('qrequests'));
  const memory = new ReleasedMessages(await openUniqueTable('qreleased'));
  const api = createQuarantineApi({
    store: fixture.store,
    index: fixture.index,
    audit: fixture.audit,
    auth: { kind: 'app-service' },
    limits: loadSettings({}).limits,
    releaseTarget: async () => ({ client: mailbox, hiddenFolderName: HIDDEN_FOLDER }),
    releaseRequests: requests,
    releasedMessages: memory,
  });
  const address = uniqueAddress('release');
  return { fixture, api, mailbox, requests, memory, address, owner: { oid: 'oid-owner', email: address } };
}

const malware = {
  verdict: {
    category: 'malware' as const,
    action: 'quarantine' as const,
    findings: [finding('malware', 'Eicar-Test-Signature')],
    durationMs: 1,
  },
};

/**
 * Puts a message in the hidden folder as the scan consumer leaves it, and stores its quarantine
 * item with the Inbox as the original folder.
 */
async function quarantine(
  setup: ReleaseSetup,
  overrides: Partial<NewQuarantineItem> = {},
): Promise<{ id: string; raw: Buffer }> {
  const raw = plainMessage();
  const internetMessageId = /^Message-ID: (<[^>]+>)/m.exec(raw.toString('utf8'))?.[1] ?? '';
  const receivedAt = new Date(Date.now() - 60_000).toISOString();
  const hidden = await setup.mailbox.ensureHiddenFolder(setup.address, HIDDEN_FOLDER);
  setup.mailbox.deliver(setup.address, raw, { folderId: hidden, internetMessageId, receivedAt });
  const item = newItem(setup.address, {
    folder: setup.mailbox.folderIdOf('inbox'),
    internetMessageId,
    receivedAt,
    ...overrides,
  });
  const { id } = await setup.fixture.store.put(raw, item);
  return { id, raw };
}

function release(setup: ReleaseSetup, caller: TestCaller, id: string, body?: unknown) {
  const request = apiRequest('POST', `quarantine/items/${id}/release`, caller, { id });
  request.body = Buffer.from(body === undefined ? '' : JSON.stringify(body));
  return setup.api.release(request, context);
}

function requestRelease(setup: ReleaseSetup, caller: TestCaller, id: string, body: unknown = {}) {
  const request = apiRequest('POST', `quarantine/items/${id}/release-requests`, caller, { id });
  request.body = Buffer.from(JSON.stringify(body));
  return setup.api.requestRelease(request, context);
}

function decide(setup: ReleaseSetup, caller: TestCaller, requestId: string, decision: 'approve' | 'deny', body: unknown = {}) {
  const request = apiRequest('POST', `quarantine/release-requests/${requestId}/${decision}`, caller, { requestId });
  request.body = Buffer.from(JSON.stringify(body));
  return decision === 'approve'
    ? setup.api.approveReleaseRequest(request, context)
    : setup.api.denyReleaseRequest(request, context);
}

/** Empties the hidden folder, as removal mode `delete` or a user would. */
async function emptyHiddenFolder(setup: ReleaseSetup): Promise<void> {
  const hidden = setup.mailbox.folderIdByName(setup.address, HIDDEN_FOLDER) ?? '';
  for (const message of setup.mailbox.messagesIn(setup.address, hidden)) {
    await setup.mailbox.deleteMessage(setup.address, message.id, 'hard');
  }
}

function sha256(raw: Buffer): string {
  return createHash('sha256').update(raw).digest('hex');
}

async function releaseEntries(setup: ReleaseSetup, id: string): Promise<AuditEntry[]> {
  const { entries } = await setup.fixture.audit.read(`i-${id}`, 100);
  return entries.filter((entry) => entry.action === 'release');
}

describe('POST /api/quarantine/items/{id}/release', () => {
  it('moves the message back to its folder, byte for byte', async () => {
    const setup = await setUp();
    const { id, raw } = await quarantine(setup);

    const response = await release(setup, setup.owner, id);

    assert.equal(response.status, 200, JSON.stringify(response.json));
    const inbox = setup.mailbox.messagesIn(setup.address, setup.mailbox.folderIdOf('inbox'));
    assert.equal(inbox.length, 1);
    assert.deepEqual(inbox[0]?.raw, raw);
    const hidden = setup.mailbox.folderIdByName(setup.address, HIDDEN_FOLDER) ?? '';
    assert.equal(setup.mailbox.messagesIn(setup.address, hidden).length, 0);
    const body = jsonOf<{ messageId: string; releasedAt: string }>(response);
    assert.equal(body.messageId, inbox[0]?.id);
    const [entry] = await releaseEntries(setup, id);
    assert.equal(entry?.result, 'ok');
  });

  it('answers 500 naming config-invalid without mailbox settings', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup);
    const api = createQuarantineApi({
      store: setup.fixture.store,
      index: setup.fixture.index,
      audit: setup.fixture.audit,
      auth: { kind: 'app-service' },
      limits: loadSettings({}).limits,
      releaseTarget: () => Promise.reject(new ScannerError('config-invalid', 'Graph is not configured')),
    });
    const request = apiRequest('POST', `quarantine/items/${id}/release`, setup.owner, { id });
    const response = await api.release(request, context);
    assert.equal(response.status, 500);
    assert.equal((response.json as { code?: string }).code, 'config-invalid');
    const row = await setup.fixture.index.findRow(await setup.fixture.store.getMetadata(id));
    assert.equal(row?.releasedAt, undefined);
  });

  it('returns 409 for a command-line item without a client', async () => {
    const setup = await setUp();
    const item = newItem(setup.address, { recipients: [setup.address], source: 'scan/invoice.eml' });
    delete item.mailbox;
    delete item.folder;
    delete item.messageId;
    const { id } = await setup.fixture.store.put(plainMessage(), item);
    let clientsBuilt = 0;
    const api = createQuarantineApi({
      store: setup.fixture.store,
      index: setup.fixture.index,
      audit: setup.fixture.audit,
      auth: { kind: 'app-service' },
      limits: loadSettings({}).limits,
      releaseTarget: () => {
        clientsBuilt += 1;
        return Promise.reject(new ScannerError('config-invalid', 'Graph is not configured'));
      },
    });

    const request = apiRequest('POST', `quarantine/items/${id}/release`, admin, { id });
    const response = await api.release(request, context);

    assert.equal(response.status, 409, JSON.stringify(response.json));
    assert.match(jsonOf<{ error: string }>(response).error, /no mailbox/);
    assert.equal(clientsBuilt, 0);
    const [entry] = await releaseEntries(setup, id);
    assert.equal(entry?.result, 'invalid');
    assert.equal(entry?.detail, 'no-mailbox');
  });

  it('returns 403 to a user for a command-line item', async () => {
    const setup = await setUp();
    const item = newItem(setup.address, {
      recipients: [setup.address],
      source: 'scan/invoice.eml',
      verdict: {
        category: 'unscannable',
        action: 'quarantine',
        findings: [finding('unscannable', 'limit.mime-depth')],
        durationMs: 1,
      },
    });
    delete item.mailbox;
    const { id } = await setup.fixture.store.put(plainMessage(), item);

    const response = await release(setup, setup.owner, id);

    assert.equal(response.status, 403, JSON.stringify(response.json));
    assert.doesNotMatch(jsonOf<{ error: string }>(response).error, /no mailbox|download/);
    const [entry] = await releaseEntries(setup, id);
    assert.equal(entry?.result, 'forbidden');
  });

  it('offers no release for a command-line item', async () => {
    const setup = await setUp();
    const item = newItem(setup.address, { recipients: [setup.address], source: 'scan/invoice.eml' });
    delete item.mailbox;
    const { id } = await setup.fixture.store.put(plainMessage(), item);

    const view = await setup.api.item(apiRequest('GET', `quarantine/items/${id}`, admin, { id }), context);
    const listed = await setup.api.list(apiRequest('GET', 'quarantine/items', admin), context);

    assert.equal(view.status, 200);
    const viewActions = jsonOf<{ item: { allowedActions: string[] } }>(view).item.allowedActions;
    assert.deepEqual(viewActions, ['download', 'delete']);
    const row = jsonOf<{ items: { id: string; allowedActions: string[] }[] }>(listed).items.find(
      (listedItem) => listedItem.id === id,
    );
    assert.deepEqual(row?.allowedActions, ['download', 'delete']);
  });

  it('copies a command-line item to other recipients', async () => {
    const setup = await setUp();
    const raw = plainMessage();
    const internetMessageId = /^Message-ID: (<[^>]+>)/m.exec(raw.toString('utf8'))?.[1] ?? '';
    const item = newItem(setup.address, {
      internetMessageId,
      recipients: [setup.address],
      source: 'scan/invoice.eml',
    });
    delete item.mailbox;
    const { id } = await setup.fixture.store.put(raw, item);
    const other = uniqueAddress('other');

    const response = await release(setup, admin, id, { recipients: [other] });

    assert.equal(response.status, 200, JSON.stringify(response.json));
    const inbox = setup.mailbox.messagesIn(other, setup.mailbox.folderIdOf('inbox'));
    assert.deepEqual(inbox[0]?.raw, raw);
  });

  it('marks the item released in listings and refuses a second release', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup);
    assert.equal((await release(setup, setup.owner, id)).status, 200);

    const listed = await setup.api.list(apiRequest('GET', 'quarantine/items', setup.owner), context);
    const items = jsonOf<{ items: { id: string; releasedAt?: string }[] }>(listed).items;
    assert.ok(items.find((item) => item.id === id)?.releasedAt);
    const again = await release(setup, setup.owner, id);
    assert.equal(again.status, 409);
  });

  it('imports the copy after the hidden folder emptied', async () => {
    const setup = await setUp();
    const { id, raw } = await quarantine(setup);
    await emptyHiddenFolder(setup);

    const response = await release(setup, setup.owner, id);

    assert.equal(response.status, 200, JSON.stringify(response.json));
    const body = jsonOf<{ method: string; preservesMime: boolean; messageId: string }>(response);
    assert.equal(body.method, 'import');
    assert.equal(body.preservesMime, true);
    const inbox = setup.mailbox.messagesIn(setup.address, setup.mailbox.folderIdOf('inbox'));
    assert.equal(inbox.length, 1);
    assert.deepEqual(inbox[0]?.raw, raw);
    assert.equal(inbox[0]?.isDraft, false);
    const row = await setup.fixture.index.findRow(await setup.fixture.store.getMetadata(id));
    assert.ok(row?.releasedAt);
  });

  it('keeps the item quarantined when the import is not found', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup, { internetMessageId: '<elsewhere@fabrikam.com>' });
    await emptyHiddenFolder(setup);

    const response = await release(setup, setup.owner, id);

    assert.equal(response.status, 502);
    assert.equal(jsonOf<{ code: string }>(response).code, 'mailbox-request-failed');
    const row = await setup.fixture.index.findRow(await setup.fixture.store.getMetadata(id));
    assert.equal(row?.releasedAt, undefined);
    assert.equal(row?.releaseError, 'mailbox-request-failed');
    const [entry] = await releaseEntries(setup, id);
    assert.equal(entry?.result, 'failed');
  });

  it('shows a failed import and keeps the item quarantined', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup);
    await emptyHiddenFolder(setup);
    setup.mailbox.failNext({ method: 'importMessage', error: new ScannerError('mailbox-throttled', 'EWS busy') });

    const response = await release(setup, setup.owner, id);

    assert.equal(response.status, 503);
    assert.equal(jsonOf<{ code: string }>(response).code, 'mailbox-throttled');
    const listed = await setup.api.list(apiRequest('GET', 'quarantine/items', setup.owner), context);
    const row = jsonOf<{ items: { id: string; releasedAt?: string; releaseError?: string }[] }>(listed).items.find(
      (item) => item.id === id,
    );
    assert.equal(row?.releasedAt, undefined);
    assert.equal(row?.releaseError, 'mailbox-throttled');
  });

  it('remembers the released message', async () => {
    const setup = await setUp();
    const { id, raw } = await quarantine(setup);
    const metadata = await setup.fixture.store.getMetadata(id);

    assert.equal((await release(setup, setup.owner, id)).status, 200);

    assert.equal(await setup.memory.isReleased(metadata.internetMessageId, sha256(raw)), true);
    assert.equal(await setup.memory.isReleased(metadata.internetMessageId, sha256(Buffer.from('x'))), false);
    assert.equal(await setup.memory.isSenderAllowed(metadata.sender), false);
  });

  it('allows the sender when an administrator asks', async () => {
    const setup = await setUp();
    const sender = uniqueAddress('newsletter');
    const { id } = await quarantine(setup, { sender });

    const response = await release(setup, admin, id, { allowSender: true });

    assert.equal(response.status, 200, JSON.stringify(response.json));
    assert.equal(await setup.memory.isSenderAllowed(sender.toUpperCase()), true);
  });

  it('refuses allowSender and recipients from a user', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup);

    const allow = await release(setup, setup.owner, id, { allowSender: true });
    const copies = await release(setup, setup.owner, id, { recipients: ['other@contoso.com'] });

    assert.equal(allow.status, 403);
    assert.equal(copies.status, 403);
    assert.equal(setup.mailbox.count('moveMessage'), 0);
  });

  it('releases copies to other recipients for an administrator', async () => {
    const setup = await setUp();
    const { id, raw } = await quarantine(setup);
    const other = uniqueAddress('other');

    const response = await release(setup, admin, id, { recipients: [other] });

    assert.equal(response.status, 200, JSON.stringify(response.json));
    const copies = jsonOf<{ copies: { recipient: string; status: string }[] }>(response).copies;
    assert.deepEqual(copies.map((copy) => copy.status), ['released']);
    const inbox = setup.mailbox.messagesIn(other, setup.mailbox.folderIdOf('inbox'));
    assert.deepEqual(inbox[0]?.raw, raw);
    const row = await setup.fixture.index.findRow(await setup.fixture.store.getMetadata(id));
    assert.equal(row?.releasedAt, undefined, 'the original mailbox was not released');
  });

  it('names an invalid body field in a 400', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup);

    const response = await release(setup, admin, id, { recipients: ['not an address'] });
    const unknown = await release(setup, admin, id, { folder: 'x' });

    assert.equal(response.status, 400);
    assert.match(jsonOf<{ error: string }>(response).error, /recipients\.0: must be an email address/);
    assert.equal(unknown.status, 400);
    assert.match(jsonOf<{ error: string }>(unknown).error, /folder: unknown parameter/);
  });

  it('shows the mailbox error and keeps the item quarantined', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup);
    setup.mailbox.failNext({
      method: 'moveMessage',
      error: new ScannerError('mailbox-unavailable', 'Graph answered 503'),
    });

    const response = await release(setup, setup.owner, id);

    assert.equal(response.status, 503);
    assert.equal(jsonOf<{ code: string }>(response).code, 'mailbox-unavailable');
    const row = await setup.fixture.index.findRow(await setup.fixture.store.getMetadata(id));
    assert.equal(row?.releasedAt, undefined);
  });

  it('lets only administrators release malware', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup, malware);

    const refused = await release(setup, setup.owner, id);
    assert.equal(refused.status, 403);
    assert.match(jsonOf<{ error: string }>(refused).error, /release-requests/);
    assert.equal((await release(setup, admin, id)).status, 200);
  });

  it('returns 404 to another user', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup);
    const stranger = { oid: 'oid-stranger', email: uniqueAddress('stranger') };

    assert.equal((await release(setup, stranger, id)).status, 404);
    assert.equal(setup.mailbox.messagesIn(setup.address, setup.mailbox.folderIdOf('inbox')).length, 0);
  });

  it('returns 501 without a mailbox client', async () => {
    const fixture = await createQuarantineFixture();
    const address = uniqueAddress('norelease');
    const { id } = await fixture.store.put(plainMessage(), newItem(address));
    const request = apiRequest('POST', `quarantine/items/${id}/release`, { oid: 'o', email: address }, { id });

    const response = await fixture.api.release(request, context);

    assert.equal(response.status, 501);
  });
});

describe('release requests', () => {
  it('lets a user request malware and an admin approve it', async () => {
    const setup = await setUp();
    const { id, raw } = await quarantine(setup, malware);

    const created = await requestRelease(setup, setup.owner, id, { note: 'I expected this invoice' });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const { request } = jsonOf<{ request: ReleaseRequest }>(created);
    assert.equal(request.status, 'pending');

    const listed = await setup.api.listReleaseRequests(apiRequest('GET', 'quarantine/release-requests?status=pending', admin), context);
    assert.equal(listed.status, 200);
    assert.ok(jsonOf<{ requests: ReleaseRequest[] }>(listed).requests.some((item) => item.id === request.id));

    const approved = await decide(setup, admin, request.id, 'approve', { note: 'checked' });
    assert.equal(approved.status, 200, JSON.stringify(approved.json));
    assert.equal(jsonOf<{ request: ReleaseRequest }>(approved).request.status, 'approved');
    const inbox = setup.mailbox.messagesIn(setup.address, setup.mailbox.folderIdOf('inbox'));
    assert.deepEqual(inbox[0]?.raw, raw);
    const again = await decide(setup, admin, request.id, 'deny');
    assert.equal(again.status, 409);
  });

  it('denies a request without touching the mailbox', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup, malware);
    const { request } = jsonOf<{ request: ReleaseRequest }>(await requestRelease(setup, setup.owner, id));

    const denied = await decide(setup, admin, request.id, 'deny', { note: 'real malware' });

    assert.equal(denied.status, 200);
    assert.equal(jsonOf<{ request: ReleaseRequest }>(denied).request.status, 'denied');
    assert.equal(setup.mailbox.count('moveMessage'), 0);
    const stored = await setup.requests.get(request.id);
    assert.equal(stored?.decisionNote, 'real malware');
  });

  it('refuses a second pending request and a request for spam', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup, malware);
    const spam = await quarantine(setup);

    assert.equal((await requestRelease(setup, setup.owner, id)).status, 201);
    assert.equal((await requestRelease(setup, setup.owner, id)).status, 409);
    const direct = await requestRelease(setup, setup.owner, spam.id);
    assert.equal(direct.status, 403);
    assert.match(jsonOf<{ error: string }>(direct).error, /release this item directly/);
  });

  it('keeps the request pending when the approval fails', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup, malware);
    const { request } = jsonOf<{ request: ReleaseRequest }>(await requestRelease(setup, setup.owner, id));
    setup.mailbox.failNext({ method: 'moveMessage', error: new ScannerError('mailbox-unavailable', 'down') });

    const failed = await decide(setup, admin, request.id, 'approve');

    assert.equal(failed.status, 503);
    const stored = await setup.requests.get(request.id);
    assert.equal(stored?.status, 'pending');
    assert.equal(stored?.error, 'mailbox-unavailable');
  });

  it('admits only administrators to decide and list', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup, malware);
    const { request } = jsonOf<{ request: ReleaseRequest }>(await requestRelease(setup, setup.owner, id));
    const reader = { oid: 'oid-reader', roles: ['Mailsweep.Reader'] };

    assert.equal((await decide(setup, setup.owner, request.id, 'approve')).status, 403);
    assert.equal((await decide(setup, reader, request.id, 'approve')).status, 403);
    const listed = await setup.api.listReleaseRequests(apiRequest('GET', 'quarantine/release-requests', setup.owner), context);
    assert.equal(listed.status, 403);
  });

  it('rejects malformed request ids and queries', async () => {
    const setup = await setUp();
    for (const requestId of ['../x', '1%2e%2e', 'a\u0000b', '0'.repeat(29).toUpperCase() + 'A']) {
      assert.equal((await decide(setup, admin, requestId, 'approve')).status, 400, requestId);
    }
    const listed = await setup.api.listReleaseRequests(apiRequest('GET', 'quarantine/release-requests?status=open', admin), context);
    assert.equal(listed.status, 400);
    assert.match(jsonOf<{ error: string }>(listed).error, /status/);
  });

  it('returns 404 for another user requesting by id', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup, malware);
    const stranger = { oid: 'oid-stranger', email: uniqueAddress('stranger') };

    assert.equal((await requestRelease(setup, stranger, id)).status, 404);
  });
});
