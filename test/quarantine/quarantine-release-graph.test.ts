import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { releaseByMove } from '../../src/quarantine/quarantine-release.js';
import { startGraphFixture, type GraphFixture } from '../graph/graph-test-support.js';
import {
  createQuarantineFixture,
  newItem,
  type QuarantineFixture,
} from './quarantine-test-support.js';

const HIDDEN_FOLDER = 'mailsweep quarantine';
const MAILBOX = 'release-user@contoso.com';

/** A message whose bytes a store that rewrote MIME would change: folded header, CRLF, 8-bit. */
function originalMime(tag: string): Buffer {
  return Buffer.from(
    `Received: from mx.fabrikam.com\r\n\tby mx.contoso.com; Mon, 1 Jan 2024 00:00:00 +0000\r\n` +
      `Message-ID: <${tag}@fabrikam.com>\r\nFrom: sender@fabrikam.com\r\nTo: ${MAILBOX}\r\n` +
      `Subject: Release ${tag}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Transfer-Encoding: 8bit\r\n\r\nGr\u00fc\u00dfe ${tag}\r\n`,
    'utf8',
  );
}

describe('releaseByMove against the Graph simulator', () => {
  let graph: GraphFixture;
  let quarantine: QuarantineFixture;
  let inboxId: string;
  let hiddenId: string;

  before(async () => {
    graph = await startGraphFixture();
    quarantine = await createQuarantineFixture();
    const mailbox = graph.sim.addMailbox(MAILBOX);
    const folders = [...mailbox.folders.values()];
    inboxId = folders.find((folder) => folder.wellKnownName === 'inbox')?.id ?? '';
    hiddenId = await graph.client.ensureHiddenFolder(MAILBOX, HIDDEN_FOLDER);
  });
  after(async () => {
    await graph.close();
  });

  it('returns the message to the Inbox byte for byte', async () => {
    const raw = originalMime('graph1');
    const receivedAt = new Date(Date.now() - 120_000);
    graph.sim.deliverMessage(MAILBOX, {
      mime: raw,
      folder: hiddenId,
      receivedAt,
      internetMessageId: '<graph1@fabrikam.com>',
    });
    const { id } = await quarantine.store.put(
      raw,
      newItem(MAILBOX, {
        folder: inboxId,
        internetMessageId: '<graph1@fabrikam.com>',
        receivedAt: receivedAt.toISOString(),
      }),
    );
    const metadata = await quarantine.store.getMetadata(id);

    const target = { client: graph.client, hiddenFolderName: HIDDEN_FOLDER };
    const outcome = await releaseByMove(metadata, target);

    assert.equal(outcome.kind, 'released');
    assert.ok(outcome.kind === 'released');
    assert.equal(outcome.folderId, inboxId);
    const released = graph.sim.message(MAILBOX, outcome.messageId);
    assert.equal(released?.folderId, inboxId);
    assert.equal(released?.isDraft, false);
    assert.deepEqual(released?.mime, await quarantine.store.getContent(id));
  });

  it('reports a message that is not in the hidden folder', async () => {
    const raw = originalMime('graph2');
    const receivedAt = new Date(Date.now() - 120_000);
    const internetMessageId = '<graph2@fabrikam.com>';
    graph.sim.deliverMessage(MAILBOX, { mime: raw, receivedAt, internetMessageId });
    const { id } = await quarantine.store.put(
      raw,
      newItem(MAILBOX, {
        folder: inboxId,
        internetMessageId: '<graph2@fabrikam.com>',
        receivedAt: receivedAt.toISOString(),
      }),
    );

    const outcome = await releaseByMove(await quarantine.store.getMetadata(id), {
      client: graph.client,
      hiddenFolderName: HIDDEN_FOLDER,
    });

    assert.deepEqual(outcome, { kind: 'not-in-quarantine-folder' });
  });
});
