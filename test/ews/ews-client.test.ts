import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { ScannerError } from '../../src/shared/errors.js';
import type { EwsSimulator } from '../ews-simulator/ews-simulator.js';
import { clientFor, collect, readAll, sampleMime, startSimulator } from './ews-test-support.js';

const MAILBOX = 'adele@contoso.com';

describe('EwsClient operations', () => {
  let simulator: EwsSimulator;

  before(async () => {
    simulator = await startSimulator();
    simulator.addMailbox(MAILBOX);
  });
  after(async () => {
    await simulator.close();
  });

  it('pages past 250 items with ties at page boundaries', async () => {
    const address = 'paging@contoso.com';
    simulator.addMailbox(address);
    const base = Date.parse('2026-03-01T00:00:00Z');
    const delivered = new Set<string>();
    // 600 items, many sharing one receive second, and 300 sharing exactly the same second so that
    // one time run is longer than a page.
    for (let index = 0; index < 600; index += 1) {
      const second = index < 300 ? 0 : Math.floor(index / 7);
      const item = simulator.deliverMessage(address, {
        mime: sampleMime(`m${index}`),
        receivedAt: new Date(base + second * 1000),
      });
      delivered.add(item.id);
    }
    const client = clientFor(simulator);
    const listed = await collect(
      client.listMessages(address, {
        folder: { wellKnown: 'inbox' },
        receivedAfter: new Date(base - 1000),
        pageSize: 1000,
      }),
    );
    client.close();
    const ids = listed.map((item) => item.id);
    assert.equal(new Set(ids).size, ids.length, 'no item is listed twice');
    assert.equal(ids.length, 600);
    assert.deepEqual(new Set(ids), delivered);
    const findItems = simulator.requestLog.filter(
      (entry) => entry.operation === 'FindItem' && entry.mailbox === address,
    );
    assert.ok(findItems.length >= 3, 'the 250-item cap forces at least three pages');
  });

  it('keeps items when others are deleted mid-listing', async () => {
    const address = 'churn@contoso.com';
    simulator.addMailbox(address);
    const base = Date.parse('2026-04-01T00:00:00Z');
    const items = [];
    for (let index = 0; index < 520; index += 1) {
      items.push(
        simulator.deliverMessage(address, {
          mime: sampleMime(`c${index}`),
          receivedAt: new Date(base + index * 1000),
        }),
      );
    }
    const client = clientFor(simulator);
    const seen: string[] = [];
    let deletedDuringListing = 0;
    for await (const item of client.listMessages(address, {
      folder: { wellKnown: 'inbox' },
      receivedAfter: new Date(base - 1000),
    })) {
      seen.push(item.id);
      if (seen.length === 250) {
        // Delete 40 items already listed: an offset-based pager would now skip 40 unread ones.
        const mailbox = simulator.mailbox(address);
        for (const id of seen.slice(0, 40)) {
          mailbox.items.delete(id);
          deletedDuringListing += 1;
        }
      }
    }
    client.close();
    assert.equal(deletedDuringListing, 40);
    assert.equal(new Set(seen).size, 520);
  });

  it('lists every mail folder when no folder is named', async () => {
    const address = 'folders@contoso.com';
    simulator.addMailbox(address);
    simulator.deliverMessage(address, { mime: sampleMime('in inbox') });
    simulator.deliverMessage(address, { mime: sampleMime('in junk'), folder: 'junkemail' });
    simulator.deliverMessage(address, { mime: sampleMime('in sent'), folder: 'sentitems' });
    const client = clientFor(simulator);
    const listed = await collect(client.listMessages(address));
    client.close();
    assert.equal(listed.length, 3);
  });

  it('applies the receive window', async () => {
    const address = 'window@contoso.com';
    simulator.addMailbox(address);
    const inside = simulator.deliverMessage(address, {
      mime: sampleMime('inside'),
      receivedAt: new Date('2026-05-02T00:00:00Z'),
    });
    simulator.deliverMessage(address, {
      mime: sampleMime('before'),
      receivedAt: new Date('2026-04-01T00:00:00Z'),
    });
    simulator.deliverMessage(address, {
      mime: sampleMime('after'),
      receivedAt: new Date('2026-06-01T00:00:00Z'),
    });
    const client = clientFor(simulator);
    const listed = await collect(
      client.listMessages(address, {
        receivedAfter: new Date('2026-05-01T00:00:00Z'),
        receivedBefore: new Date('2026-05-03T00:00:00Z'),
      }),
    );
    client.close();
    assert.deepEqual(
      listed.map((item) => item.id),
      [inside.id],
    );
  });

  it('syncs a folder incrementally', async () => {
    const address = 'sync@contoso.com';
    simulator.addMailbox(address);
    for (let index = 0; index < 600; index += 1) {
      simulator.deliverMessage(address, { mime: sampleMime(`s${index}`) });
    }
    const client = clientFor(simulator);
    const full = await client.syncFolder(address, { wellKnown: 'inbox' });
    assert.equal(full.changed.length, 600, 'a full sync spanning two 512-change batches');
    assert.equal(full.resynced, undefined);

    const added = simulator.deliverMessage(address, { mime: sampleMime('new') });
    const deletedId = full.changed[0]?.id ?? '';
    await client.deleteMessage(address, deletedId, 'hard');
    const next = await client.syncFolder(address, { wellKnown: 'inbox' }, full.state);
    assert.deepEqual(
      next.changed.map((item) => item.id),
      [added.id],
    );
    assert.deepEqual(next.removedIds, [deletedId]);

    const idle = await client.syncFolder(address, { wellKnown: 'inbox' }, next.state);
    assert.equal(idle.changed.length, 0);
    assert.equal(idle.removedIds.length, 0);
    client.close();
  });

  it('resyncs fully after an invalid sync state', async () => {
    const address = 'resync@contoso.com';
    simulator.addMailbox(address);
    simulator.deliverMessage(address, { mime: sampleMime('one') });
    const client = clientFor(simulator);
    const first = await client.syncFolder(address, { wellKnown: 'inbox' });
    simulator.invalidateSyncStates(address);
    simulator.deliverMessage(address, { mime: sampleMime('two') });
    const again = await client.syncFolder(address, { wellKnown: 'inbox' }, first.state);
    client.close();
    assert.equal(again.resynced, true);
    assert.equal(again.changed.length, 2);
    assert.notEqual(again.state, first.state);
  });

  it('reads a message and its MIME byte for byte', async () => {
    const binary = Buffer.concat([
      sampleMime('binary', ''),
      Buffer.from(Array.from({ length: 200_000 }, (_, index) => (index * 31) % 256)),
    ]);
    const item = simulator.deliverMessage(MAILBOX, {
      mime: binary,
      internetMessageId: '<binary@example.org>',
    });
    const client = clientFor(simulator);
    const ref = await client.getMessage(MAILBOX, item.id);
    assert.equal(ref.id, item.id);
    assert.equal(ref.sizeBytes, binary.length);
    assert.equal(ref.internetMessageId, '<binary@example.org>');
    const download = await client.getMime(MAILBOX, item.id);
    assert.equal(download.declaredBytes, binary.length);
    const bytes = await readAll(download.stream);
    client.close();
    assert.ok(bytes.equals(binary));
  });

  it('fails a MIME far shorter than the item size', async () => {
    const mime = Buffer.concat([sampleMime('big', ''), Buffer.alloc(2_000_000, 0x41)]);
    const item = simulator.deliverMessage(MAILBOX, { mime });
    simulator.truncateMime(MAILBOX, item.id, 900_000);
    const client = clientFor(simulator);
    await assert.rejects(client.getMime(MAILBOX, item.id), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'mailbox-unavailable');
      assert.equal(error.transient, true);
      return true;
    });
    client.close();
  });

  it('moves a message to a new id', async () => {
    const item = simulator.deliverMessage(MAILBOX, { mime: sampleMime('move me') });
    const client = clientFor(simulator);
    const newId = await client.moveMessage(MAILBOX, item.id, { wellKnown: 'junkemail' });
    client.close();
    assert.notEqual(newId, item.id);
    const mailbox = simulator.mailbox(MAILBOX);
    assert.equal(mailbox.items.has(item.id), false);
    const moved = mailbox.items.get(newId);
    assert.ok(moved);
    assert.equal(mailbox.folders.get(moved.folderId)?.distinguished, 'junkemail');
  });

  it('deletes in each delete mode', async () => {
    const client = clientFor(simulator);
    const mailbox = simulator.mailbox(MAILBOX);
    const toDeletedItems = simulator.deliverMessage(MAILBOX, { mime: sampleMime('d1') });
    const soft = simulator.deliverMessage(MAILBOX, { mime: sampleMime('d2') });
    const hard = simulator.deliverMessage(MAILBOX, { mime: sampleMime('d3') });
    await client.deleteMessage(MAILBOX, toDeletedItems.id, 'deleted-items');
    await client.deleteMessage(MAILBOX, soft.id, 'soft');
    await client.deleteMessage(MAILBOX, hard.id, 'hard');
    const inDeleted = [...mailbox.items.values()].filter(
      (item) => mailbox.folders.get(item.folderId)?.distinguished === 'deleteditems',
    );
    assert.equal(inDeleted.length, 1);
    assert.deepEqual(inDeleted[0]?.mime, toDeletedItems.mime);
    assert.ok(mailbox.softDeleted.includes(soft.id));
    assert.ok(mailbox.hardDeleted.includes(hard.id));
    await assert.rejects(client.deleteMessage(MAILBOX, hard.id, 'hard'), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'mailbox-not-found');
      return true;
    });
    client.close();
  });

  it('adds categories and a flag', async () => {
    const item = simulator.deliverMessage(MAILBOX, { mime: sampleMime('tag me') });
    item.categories = ['Existing <&> category'];
    const client = clientFor(simulator);
    await client.tagMessage(MAILBOX, item.id, { categories: ['mailsweep: spam'], flag: true });
    await client.tagMessage(MAILBOX, item.id, { categories: ['mailsweep: spam'] });
    client.close();
    const stored = simulator.mailbox(MAILBOX).items.get(item.id);
    assert.deepEqual(stored?.categories, ['Existing <&> category', 'mailsweep: spam']);
    assert.equal(stored?.flagged, true);
  });

  it('prefixes a received subject once', async () => {
    const item = simulator.deliverMessage(MAILBOX, { mime: sampleMime('Invoice </t:Subject>') });
    const client = clientFor(simulator);
    await client.prefixSubject(MAILBOX, item.id, '[SPAM] ');
    await client.prefixSubject(MAILBOX, item.id, '[SPAM] ');
    client.close();
    assert.equal(
      simulator.mailbox(MAILBOX).items.get(item.id)?.subject,
      '[SPAM] Invoice </t:Subject>',
    );
  });

  it('creates a message from MIME as a non-draft', async () => {
    const mime = sampleMime('released');
    const client = clientFor(simulator);
    const id = await client.createMessageFromMime(MAILBOX, { wellKnown: 'inbox' }, mime);
    const ref = await client.getMessage(MAILBOX, id);
    const download = await readAll((await client.getMime(MAILBOX, id)).stream);
    client.close();
    assert.equal(ref.isDraft, false);
    assert.ok(download.equals(mime));
  });

  it('creates the hidden folder once', async () => {
    const client = clientFor(simulator);
    const first = await client.ensureHiddenFolder(MAILBOX, 'mailsweep quarantine');
    const second = await client.ensureHiddenFolder(MAILBOX, 'mailsweep quarantine');
    client.close();
    assert.equal(first, second);
    const folder = simulator.mailbox(MAILBOX).folders.get(first);
    assert.equal(folder?.hidden, true);
    assert.equal(folder?.displayName, 'mailsweep quarantine');
  });

  it('impersonates with X-AnchorMailbox and Exchange2013', async () => {
    simulator.requestLog.length = 0;
    const client = clientFor(simulator);
    await collect(client.listMessages(MAILBOX, { folder: { wellKnown: 'inbox' } }));
    client.close();
    assert.ok(simulator.requestLog.length > 0);
    for (const entry of simulator.requestLog) {
      assert.equal(entry.mailbox, MAILBOX);
      assert.equal(entry.anchorMailbox, MAILBOX);
      assert.equal(entry.serverVersion, 'Exchange2013');
    }
  });

  it('reports an unknown item as not found', async () => {
    const client = clientFor(simulator);
    await assert.rejects(client.getMessage(MAILBOX, 'AAMkADunknownitemid='), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'mailbox-not-found');
      return true;
    });
    client.close();
  });
});
