import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import PostalMime from 'postal-mime';

import { releaseToMailbox } from '../../src/quarantine/quarantine-release.js';
import { clientFor, readAll as readEws, startSimulator } from '../ews/ews-test-support.js';
import { readAll as readGraph, startGraphFixture, type GraphFixture } from '../graph/graph-test-support.js';
import type { EwsSimulator } from '../ews-simulator/ews-simulator.js';
import { createQuarantineFixture, newItem, type QuarantineFixture } from './quarantine-test-support.js';

const HIDDEN_FOLDER = 'mailsweep quarantine';

/**
 * Builds a message whose bytes only a byte-preserving store keeps: a Received chain, an authentication
 * result, a folded header, 8-bit text and a base64 attachment.
 */
function originalMime(tag: string, to: string): Buffer {
  return Buffer.from(
    'Received: from mx.fabrikam.com\r\n\tby mx.contoso.com; Mon, 1 Jan 2024 00:00:00 +0000\r\n' +
      'Authentication-Results: mx.contoso.com; spf=pass smtp.mailfrom=fabrikam.com\r\n' +
      `Message-ID: <${tag}@fabrikam.com>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n` +
      `From: Sender <sender@fabrikam.com>\r\nTo: ${to}\r\nSubject: Import ${tag}\r\n` +
      'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
      '--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
      `Gr\u00fc\u00dfe ${tag}\r\n` +
      '--b1\r\nContent-Type: application/pdf; name="report.pdf"\r\n' +
      'Content-Disposition: attachment; filename="report.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n' +
      `${Buffer.from(`%PDF-1.4 ${tag}`).toString('base64')}\r\n--b1--\r\n`,
    'utf8',
  );
}

describe('release by import through Graph', () => {
  let graph: GraphFixture;
  let quarantine: QuarantineFixture;
  let inboxId: string;
  const address = 'import-user@contoso.com';

  before(async () => {
    graph = await startGraphFixture();
    quarantine = await createQuarantineFixture();
    const mailbox = graph.sim.addMailbox(address);
    inboxId = [...mailbox.folders.values()].find((folder) => folder.wellKnownName === 'inbox')?.id ?? '';
  });
  after(async () => {
    await graph.close();
  });

  it('creates a non-draft with exactly the documented differences', async () => {
    const raw = originalMime('graphimport', address);
    const receivedAt = new Date('2024-01-01T00:00:05Z');
    const { id } = await quarantine.store.put(
      raw,
      newItem(address, { folder: inboxId, internetMessageId: '<graphimport@fabrikam.com>', receivedAt: receivedAt.toISOString() }),
    );

    const outcome = await releaseToMailbox(await quarantine.store.getMetadata(id), () => quarantine.store.getContent(id), {
      client: graph.client,
      hiddenFolderName: HIDDEN_FOLDER,
    });

    assert.equal(outcome.kind, 'released');
    assert.ok(outcome.kind === 'released');
    assert.equal(outcome.method, 'import');
    assert.equal(outcome.preservesMime, false);
    const released = graph.sim.message(address, outcome.messageId);
    assert.equal(released?.folderId, inboxId);
    assert.equal(released?.isDraft, false);
    assert.equal(released?.internetMessageId, '<graphimport@fabrikam.com>');
    assert.equal(released?.receivedDateTime, receivedAt.toISOString());

    // Kept: the fields Graph's JSON create carries.
    const downloaded = await readGraph((await graph.client.getMime(address, outcome.messageId)).stream);
    const before = await PostalMime.parse(raw);
    const after = await PostalMime.parse(downloaded);
    assert.equal(after.subject, before.subject);
    assert.equal(after.from?.address, before.from?.address);
    assert.deepEqual(after.to?.map((entry) => entry.address), before.to?.map((entry) => entry.address));
    assert.equal(after.messageId, before.messageId);
    assert.equal(after.date, before.date);
    assert.equal(after.text?.trim(), before.text?.trim());
    assert.equal(after.attachments.length, 1);
    assert.equal(after.attachments[0]?.filename, 'report.pdf');
    assert.deepEqual(Buffer.from(after.attachments[0]?.content as ArrayBuffer), Buffer.from(before.attachments[0]?.content as ArrayBuffer));

    // Lost, as documented: the original header block and the bytes themselves.
    assert.notDeepEqual(downloaded, raw);
    assert.equal(after.headers.some((header) => header.key === 'received'), false);
    assert.equal(after.headers.some((header) => header.key === 'authentication-results'), false);
  });
});

describe('release by import through EWS', () => {
  let simulator: EwsSimulator;
  let quarantine: QuarantineFixture;
  const address = 'import-ews@contoso.com';

  before(async () => {
    simulator = await startSimulator();
    simulator.addMailbox(address);
    quarantine = await createQuarantineFixture();
  });
  after(async () => {
    await simulator.close();
  });

  it('creates a non-draft byte for byte in the Inbox', async () => {
    const raw = originalMime('ewsimport', address);
    const { id } = await quarantine.store.put(
      raw,
      newItem(address, { folder: undefined, internetMessageId: '<ewsimport@fabrikam.com>', receivedAt: new Date().toISOString() }),
    );
    const client = clientFor(simulator);

    const outcome = await releaseToMailbox(await quarantine.store.getMetadata(id), () => quarantine.store.getContent(id), {
      client,
      hiddenFolderName: HIDDEN_FOLDER,
    });

    assert.equal(outcome.kind, 'released');
    assert.ok(outcome.kind === 'released');
    assert.equal(outcome.method, 'import');
    assert.equal(outcome.preservesMime, true);
    const ref = await client.getMessage(address, outcome.messageId);
    assert.equal(ref.isDraft, false);
    assert.equal(ref.internetMessageId, '<ewsimport@fabrikam.com>');
    const downloaded = await readEws((await client.getMime(address, outcome.messageId)).stream);
    client.close();
    assert.deepEqual(downloaded, raw);
    const inbox = [...simulator.mailbox(address).folders.values()].find((folder) => folder.distinguished === 'inbox');
    assert.equal(simulator.mailbox(address).items.get(outcome.messageId)?.folderId, inbox?.id);
  });
});
