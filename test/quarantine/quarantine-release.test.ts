import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { loadSettings } from '../../src/config/settings.js';
import { createQuarantineApi, type QuarantineApi } from '../../src/quarantine/quarantine-api.js';
import type { AuditEntry } from '../../src/quarantine/quarantine-audit.js';
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
  plainMessage,
  uniqueAddress,
  type QuarantineFixture,
  type TestCaller,
} from './quarantine-test-support.js';

const HIDDEN_FOLDER = 'mailsweep quarantine';

interface ReleaseSetup {
  fixture: QuarantineFixture;
  api: QuarantineApi;
  mailbox: InMemoryMailbox;
  address: string;
  owner: TestCaller;
}

async function setUp(): Promise<ReleaseSetup> {
  const fixture = await createQuarantineFixture();
  const mailbox = new InMemoryMailbox();
  const api = createQuarantineApi({
    store: fixture.store,
    index: fixture.index,
    audit: fixture.audit,
    auth: { kind: 'app-service' },
    limits: loadSettings({}).limits,
    releaseTarget: async () => ({ client: mailbox, hiddenFolderName: HIDDEN_FOLDER }),
  });
  const address = uniqueAddress('release');
  return { fixture, api, mailbox, address, owner: { oid: 'oid-owner', email: address } };
}

/**
 * Puts a message in the hidden folder as the scan consumer leaves it, and stores its quarantine
 * item with the Inbox as the original folder.
 */
async function quarantine(
  setup: ReleaseSetup,
  overrides: Partial<NewQuarantineItem> = {},
): Promise<{ id: string; raw: Buffer }> {
  const raw = plainMessage();
  const internetMessageId = `<${Math.random().toString(36).slice(2)}@fabrikam.com>`;
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

function release(setup: ReleaseSetup, caller: TestCaller, id: string) {
  return setup.api.release(apiRequest('POST', `quarantine/items/${id}/release`, caller, { id }), context);
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

  it('leaves the item quarantined when the message left the hidden folder', async () => {
    const setup = await setUp();
    const { id } = await quarantine(setup, { internetMessageId: '<elsewhere@fabrikam.com>' });

    const response = await release(setup, setup.owner, id);

    assert.equal(response.status, 409);
    assert.match(jsonOf<{ error: string }>(response).error, /no longer in the quarantine folder/);
    const row = await setup.fixture.index.findRow(await setup.fixture.store.getMetadata(id));
    assert.equal(row?.releasedAt, undefined);
    const [entry] = await releaseEntries(setup, id);
    assert.equal(entry?.result, 'failed');
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
    const malware = {
      verdict: {
        category: 'malware' as const,
        action: 'quarantine' as const,
        findings: [finding('malware', 'Eicar-Test-Signature')],
        durationMs: 1,
      },
    };
    const { id } = await quarantine(setup, malware);

    assert.equal((await release(setup, setup.owner, id)).status, 403);
    const admin = { oid: 'oid-admin', roles: ['Mailsweep.Admin'] };
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
