import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { MAX_GRAPH_MIME_SEND_BYTES } from '../../src/graph/graph-client.js';
import { ScannerError } from '../../src/shared/errors.js';
import { readAll, sampleMime, startGraphFixture, type GraphFixture } from './graph-test-support.js';

describe('GraphClient mailbox access', () => {
  let fixture: GraphFixture;

  before(async () => {
    fixture = await startGraphFixture();
  });
  after(async () => {
    await fixture.close();
  });

  it('lists messages over three pages with a time filter', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('paging@contoso.com');
    const base = Date.parse('2026-01-01T00:00:00Z');
    for (let index = 0; index < 12; index += 1) {
      sim.deliverMessage(mailbox.mail, {
        mime: sampleMime(index),
        receivedAt: new Date(base + index * 60_000),
      });
    }
    sim.resetStats();
    const listed = [];
    for await (const ref of client.listMessages(mailbox.mail, {
      receivedAfter: new Date(base + 2 * 60_000),
      receivedBefore: new Date(base + 11 * 60_000),
      pageSize: 3,
    })) {
      listed.push(ref);
    }
    assert.equal(listed.length, 9);
    assert.equal(listed[0]?.receivedAt, new Date(base + 10 * 60_000).toISOString());
    assert.equal(listed[8]?.receivedAt, new Date(base + 2 * 60_000).toISOString());
    const pages = sim.requestLog.filter((entry) => entry.path.endsWith('/messages'));
    assert.equal(pages.length, 3);
  });

  it('lists messages modified after a time, the received bound first', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('modified@contoso.com');
    const base = Date.parse('2026-02-01T00:00:00Z');
    for (let index = 0; index < 6; index += 1) {
      sim.deliverMessage(mailbox.mail, {
        mime: sampleMime(index),
        receivedAt: new Date(base + index * 60_000),
        // Messages 0, 2 and 4 were changed a day later.
        modifiedAt: new Date(base + index * 60_000 + (index % 2 === 0 ? 86_400_000 : 0)),
      });
    }
    sim.resetStats();
    const listed = [];
    for await (const ref of client.listMessages(mailbox.mail, {
      modifiedAfter: new Date(base + 3_600_000),
    })) {
      listed.push(ref.receivedAt);
    }
    assert.deepEqual(listed, [4, 2, 0].map((index) => new Date(base + index * 60_000).toISOString()));
    // The simulator returns InefficientFilter, as Graph does, unless the sorted property comes first.
    const pages = sim.requestLog.filter((entry) => entry.path.endsWith('/messages'));
    assert.deepEqual(pages.map((entry) => entry.status), [200]);
  });

  it('lists one folder only', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('folder-list@contoso.com');
    sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    sim.deliverMessage(mailbox.mail, { mime: sampleMime(2), folder: 'junkemail' });
    const listed = [];
    for await (const ref of client.listMessages(mailbox.mail, {
      folder: { wellKnown: 'junkemail' },
    })) {
      listed.push(ref);
    }
    assert.equal(listed.length, 1);
  });

  it('runs a full delta then an incremental delta', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('delta@contoso.com');
    const first = [];
    for (let index = 0; index < 250; index += 1) {
      first.push(sim.deliverMessage(mailbox.mail, { mime: sampleMime(index) }));
    }
    const full = await client.syncFolder(mailbox.mail, { wellKnown: 'inbox' });
    assert.equal(full.changed.length, 250);
    assert.equal(full.removedIds.length, 0);
    assert.equal(full.resynced, undefined);

    const added = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1000) });
    const gone = first[0]!;
    await client.deleteMessage(mailbox.mail, gone.id, 'hard');
    const incremental = await client.syncFolder(mailbox.mail, { wellKnown: 'inbox' }, full.state);
    assert.deepEqual(
      incremental.changed.map((ref) => ref.id),
      [added.id],
    );
    assert.deepEqual(incremental.removedIds, [gone.id]);

    const quiet = await client.syncFolder(mailbox.mail, { wellKnown: 'inbox' }, incremental.state);
    assert.equal(quiet.changed.length, 0);
    assert.equal(quiet.removedIds.length, 0);
  });

  it('treats 410 Gone on a delta link as a full resync', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('delta-gone@contoso.com');
    sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    const full = await client.syncFolder(mailbox.mail, { wellKnown: 'inbox' });
    sim.deliverMessage(mailbox.mail, { mime: sampleMime(2) });
    sim.expireDeltaLinks(mailbox.mail);
    const again = await client.syncFolder(mailbox.mail, { wellKnown: 'inbox' }, full.state);
    assert.equal(again.resynced, true);
    assert.equal(again.changed.length, 2);
    assert.ok(sim.requestLog.some((entry) => entry.status === 410));
  });

  it('streams the MIME byte for byte', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('mime@contoso.com');
    const mime = sampleMime(7, 3 * 1024 * 1024);
    const message = sim.deliverMessage(mailbox.mail, { mime });
    const download = await client.getMime(mailbox.mail, message.id);
    assert.equal(download.declaredBytes, Buffer.byteLength(mime));
    const bytes = await readAll(download.stream);
    assert.ok(bytes.equals(Buffer.from(mime)));
  });

  it('fails a $value cut short under Content-Length', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('truncated@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(8, 200_000) });
    sim.truncateMime(message.id, { bytes: 50_000, mode: 'content-length' });
    const download = await client.getMime(mailbox.mail, message.id);
    await assert.rejects(readAll(download.stream), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'mailbox-unavailable');
      assert.equal(error.transient, true);
      return true;
    });
  });

  it('fails a chunked $value that breaks off', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('truncated-chunked@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(9, 200_000) });
    sim.truncateMime(message.id, { bytes: 50_000, mode: 'chunked' });
    const download = await client.getMime(mailbox.mail, message.id);
    assert.equal(download.declaredBytes, undefined);
    await assert.rejects(readAll(download.stream), ScannerError);
  });

  it('releases the mailbox slot after a failed download', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('slot@contoso.com');
    const broken = [];
    for (let index = 0; index < 6; index += 1) {
      const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(index, 100_000) });
      sim.truncateMime(message.id, { bytes: 1000, mode: 'content-length' });
      broken.push(message);
    }
    for (const message of broken) {
      const download = await client.getMime(mailbox.mail, message.id);
      await assert.rejects(readAll(download.stream));
    }
    const ok = sim.deliverMessage(mailbox.mail, { mime: sampleMime(99) });
    const bytes = await readAll((await client.getMime(mailbox.mail, ok.id)).stream);
    assert.equal(bytes.length, Buffer.byteLength(sampleMime(99)));
  });

  it('moves a message and returns its new id', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('move@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    const newId = await client.moveMessage(mailbox.mail, message.id, { wellKnown: 'junkemail' });
    assert.notEqual(newId, message.id);
    assert.equal(sim.message(mailbox.mail, message.id), undefined);
    const moved = await client.getMessage(mailbox.mail, newId);
    const junk = [...sim.mailbox(mailbox.mail).folders.values()].find(
      (f) => f.wellKnownName === 'junkemail',
    );
    assert.equal(moved.folderId, junk?.id);
  });

  it('reports a message that is gone as mailbox-not-found', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('gone@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    await client.moveMessage(mailbox.mail, message.id, { wellKnown: 'deleteditems' });
    for (const call of [
      () => client.getMessage(mailbox.mail, message.id),
      () => client.getMime(mailbox.mail, message.id),
      () => client.moveMessage(mailbox.mail, message.id, { wellKnown: 'inbox' }),
      () => client.tagMessage(mailbox.mail, message.id, { categories: ['x'] }),
      () => client.deleteMessage(mailbox.mail, message.id, 'soft'),
    ]) {
      await assert.rejects(call(), (error: unknown) => {
        assert.ok(error instanceof ScannerError);
        assert.equal(error.code, 'mailbox-not-found');
        assert.equal(error.transient, false);
        return true;
      });
    }
  });

  it('deletes in each mode', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('delete@contoso.com');
    const [a, b, c] = [1, 2, 3].map((index) =>
      sim.deliverMessage(mailbox.mail, { mime: sampleMime(index) }),
    );
    await client.deleteMessage(mailbox.mail, a!.id, 'deleted-items');
    await client.deleteMessage(mailbox.mail, b!.id, 'soft');
    await client.deleteMessage(mailbox.mail, c!.id, 'hard');
    const box = sim.mailbox(mailbox.mail);
    const deletedItems = [...box.folders.values()].find((f) => f.wellKnownName === 'deleteditems');
    const remaining = [...box.messages.values()];
    assert.equal(remaining.length, 1);
    assert.equal(remaining[0]?.folderId, deletedItems?.id);
    assert.deepEqual(sim.softDeleted.slice(-1), [b!.id]);
    assert.deepEqual(sim.permanentlyDeleted.slice(-1), [c!.id]);
  });

  it('adds categories and a flag', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('tag@contoso.com');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    sim.message(mailbox.mail, message.id)!.categories = ['Existing'];
    await client.tagMessage(mailbox.mail, message.id, {
      categories: ['mailsweep: spam', 'Existing'],
      flag: true,
    });
    const stored = sim.message(mailbox.mail, message.id)!;
    assert.deepEqual(stored.categories, ['Existing', 'mailsweep: spam']);
    assert.equal(stored.flagStatus, 'flagged');
  });

  it('creates a hidden folder once and finds it again', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('hidden@contoso.com');
    const id = await client.ensureHiddenFolder(mailbox.mail, 'mailsweep quarantine');
    const again = await client.ensureHiddenFolder(mailbox.mail, 'mailsweep quarantine');
    assert.equal(again, id);
    const folder = sim.mailbox(mailbox.mail).folders.get(id);
    assert.equal(folder?.isHidden, true);
    const posts = sim.requestLog.filter(
      (entry) => entry.method === 'POST' && entry.path.endsWith('/mailFolders'),
    );
    assert.equal(posts.filter((entry) => entry.mailboxId === mailbox.id).length, 1);
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    const newId = await client.moveMessage(mailbox.mail, message.id, { folderId: id });
    assert.equal(sim.message(mailbox.mail, newId)?.folderId, id);
  });

  it('reports MailboxNotEnabledForRESTAPI as on-premises', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('onprem@contoso.com', 'on-premises');
    await assert.rejects(
      client.syncFolder(mailbox.mail, { wellKnown: 'inbox' }),
      (error: unknown) => {
        assert.ok(error instanceof ScannerError);
        assert.equal(error.code, 'mailbox-on-premises');
        return true;
      },
    );
    await assert.rejects(client.getMessage(mailbox.mail, 'AAMkx'), { code: 'mailbox-on-premises' });
  });

  it('reports a bare 404 on the mailbox root as on-premises', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('bare@contoso.com', 'on-premises-bare-404');
    const listing = async (): Promise<void> => {
      for await (const ref of client.listMessages(mailbox.mail)) {
        void ref;
      }
    };
    await assert.rejects(listing(), { code: 'mailbox-on-premises' });
    await assert.rejects(client.ensureHiddenFolder(mailbox.mail, 'q'), {
      code: 'mailbox-on-premises',
    });
  });

  it('sends mail from a mailbox', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('sender@contoso.com');
    await client.sendMail(mailbox.mail, {
      to: ['admin@contoso.com'],
      subject: 'digest',
      html: '<p>1</p>',
    });
    const sent = sim.sentMail.at(-1);
    assert.equal(sent?.mailboxId, mailbox.id);
    assert.deepEqual(sent?.body, {
      message: {
        subject: 'digest',
        body: { contentType: 'HTML', content: '<p>1</p>' },
        toRecipients: [{ emailAddress: { address: 'admin@contoso.com' } }],
      },
      saveToSentItems: false,
    });
  });

  it('sends MIME mail from a mailbox', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('mime-sender@contoso.com');
    const mime = Buffer.from(sampleMime(7).replace('To: user@contoso.com', 'To: admin@contoso.com'));
    await client.sendMimeMail(mailbox.mail, mime);
    const sent = sim.sentMail.at(-1);
    assert.equal(sent?.mailboxId, mailbox.id);
    assert.equal(sent?.format, 'mime');
    assert.equal(sent?.body, mime.toString('base64'));
    assert.deepEqual(sent?.mime, mime);
    const logged = sim.requestLog.filter((entry) => entry.mailboxId === mailbox.id);
    assert.deepEqual(
      logged.map((entry) => [entry.method, entry.path, entry.status]),
      [['POST', '/users/mime-sender@contoso.com/sendMail', 202]],
    );
  });

  it('rejects MIME over the sendMail size limit unsent', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('mime-large@contoso.com');
    const mime = Buffer.alloc((MAX_GRAPH_MIME_SEND_BYTES / 4) * 3 + 1, 'a');
    await assert.rejects(client.sendMimeMail(mailbox.mail, mime), { code: 'mailbox-request-failed' });
    assert.equal(sim.requestLog.filter((entry) => entry.mailboxId === mailbox.id).length, 0);
  });

  it('maps a 400 for malformed MIME to a permanent error', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('mime-bad@contoso.com');
    await assert.rejects(client.sendMimeMail(mailbox.mail, Buffer.from('no header block')), {
      code: 'mailbox-request-failed',
      transient: false,
    });
    const statuses = sim.requestLog
      .filter((entry) => entry.mailboxId === mailbox.id)
      .map((entry) => entry.status);
    assert.deepEqual(statuses, [400]);
  });

  it('retries MIME mail after 429 and 503', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('mime-retry@contoso.com');
    sim.addFault({ mailbox: mailbox.mail, status: 429, code: 'ApplicationThrottled', retryAfter: '0' });
    sim.addFault({ mailbox: mailbox.mail, status: 503, code: 'ServiceUnavailable' });
    await client.sendMimeMail(mailbox.mail, Buffer.from(sampleMime(8)));
    const statuses = sim.requestLog
      .filter((entry) => entry.mailboxId === mailbox.id)
      .map((entry) => entry.status);
    assert.deepEqual(statuses, [429, 503, 202]);
    assert.equal(sim.sentMail.filter((mail) => mail.mailboxId === mailbox.id).length, 1);
  });

  it('lists group members transitively with their mail', async () => {
    const { sim, client } = fixture;
    const a = sim.addMailbox('Member.A@contoso.com');
    const b = sim.addMailbox('member.b@contoso.com');
    const noMailbox = sim.addUserWithoutMailbox();
    const inner = sim.addGroup([b.id, noMailbox]);
    const outer = sim.addGroup([a.id, inner, b.id]);
    const members = await client.listGroupMailboxes(outer);
    assert.deepEqual(members.sort(), ['member.a@contoso.com', 'member.b@contoso.com']);
  });
});
