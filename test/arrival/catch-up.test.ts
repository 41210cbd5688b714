import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { handleCatchUp, type CatchUpDependencies } from '../../src/arrival/catch-up.js';
import { handleScanMessage } from '../../src/arrival/scan-message.js';
import { SyncStates } from '../../src/arrival/sync-states.js';
import { toMailboxKey } from '../../src/arrival/table-keys.js';
import type { Job, JobQueue, ScanMessageJob } from '../../src/queue/jobs.js';
import { createArrivalFixture, jobFor, openTestTable, uniqueMailbox } from './arrival-test-support.js';

const delivery = { deliveryCount: 1 };

function message(id: string): Buffer {
  return Buffer.from(
    `From: a@fabrikam.example\r\nTo: b@contoso.com\r\nSubject: Hello\r\nMessage-ID: ${id}\r\n\r\nHi\r\n`,
  );
}

/** Creates a queue that keeps the jobs it was sent and can fail once. */
function recordingQueue(): JobQueue & { sent: Job[]; failNext: boolean } {
  const queue = {
    sent: [] as Job[],
    failNext: false,
    async send(jobs: readonly Job[]) {
      if (queue.failNext) {
        queue.failNext = false;
        throw new Error('queue unavailable');
      }
      queue.sent.push(...jobs);
    },
  };
  return queue;
}

async function createCatchUpFixture(overrides: Record<string, string> = {}) {
  const arrival = await createArrivalFixture(overrides);
  const queue = recordingQueue();
  const syncTable = await openTestTable('sync');
  const mailboxes = await openTestTable('mailboxes');
  const deps: CatchUpDependencies = {
    settings: arrival.deps.settings,
    client: arrival.client,
    queue,
    locks: arrival.deps.locks,
    syncStates: new SyncStates(syncTable),
    mailboxes,
    logger: arrival.deps.logger,
  };
  return { ...arrival, catchUp: deps, queue, syncTable, mailboxes };
}

function catchUpJob(mailbox: string) {
  return { kind: 'catch-up', mailbox, reason: 'missed', enqueuedAt: new Date().toISOString() };
}

function scanJobs(sent: Job[]): ScanMessageJob[] {
  return sent.filter((job): job is ScanMessageJob => job.kind === 'scan-message');
}

describe('handleCatchUp', () => {
  it('enqueues unseen messages and then only new ones', async () => {
    const fixture = await createCatchUpFixture();
    const mailbox = uniqueMailbox();
    const firstId = fixture.client.deliver(mailbox, message('<one@x>'), { internetMessageId: '<one@x>' });

    const first = await handleCatchUp(catchUpJob(mailbox), delivery, fixture.catchUp);
    assert.equal(first.enqueued, 1);
    assert.equal(first.fullSyncs, 1);
    const secondId = fixture.client.deliver(mailbox, message('<two@x>'), { internetMessageId: '<two@x>' });
    const second = await handleCatchUp(catchUpJob(mailbox), delivery, fixture.catchUp);

    assert.equal(second.fullSyncs, 0);
    assert.deepEqual(
      scanJobs(fixture.queue.sent).map((job) => job.messageId),
      [firstId, secondId],
    );
    assert.ok(scanJobs(fixture.queue.sent).every((job) => job.trigger === 'catch-up'));
  });

  it('skips messages already in the verdict log', async () => {
    // Tagging keeps the scanned message in the Inbox, whatever the classifier makes of it.
    const fixture = await createCatchUpFixture({ MAILSWEEP_ACTION_SPAM: 'tag' });
    const mailbox = uniqueMailbox();
    const id = fixture.client.deliver(mailbox, message('<seen@x>'), { internetMessageId: '<seen@x>' });
    fixture.client.deliver(mailbox, message('<draft@x>'), { internetMessageId: '<draft@x>', isDraft: true });
    assert.equal(await handleScanMessage(jobFor(mailbox, id), delivery, fixture.deps), 'acted');

    const summary = await handleCatchUp(catchUpJob(mailbox), delivery, fixture.catchUp);

    assert.equal(summary.changed, 2);
    assert.equal(summary.enqueued, 0);
    assert.equal(summary.skipped, 2);
  });

  it('keeps the old state when enqueueing fails', async () => {
    const fixture = await createCatchUpFixture();
    const mailbox = uniqueMailbox();
    const id = fixture.client.deliver(mailbox, message('<lost@x>'), { internetMessageId: '<lost@x>' });
    fixture.queue.failNext = true;

    await assert.rejects(handleCatchUp(catchUpJob(mailbox), delivery, fixture.catchUp));
    assert.equal(await fixture.catchUp.syncStates.read(toMailboxKey(mailbox), { wellKnown: 'inbox' }), undefined);
    await handleCatchUp(catchUpJob(mailbox), { deliveryCount: 2 }, fixture.catchUp);

    assert.deepEqual(scanJobs(fixture.queue.sent).map((job) => job.messageId), [id]);
  });

  it('runs a full sync when the stored state is rejected', async () => {
    const fixture = await createCatchUpFixture();
    const mailbox = uniqueMailbox();
    await handleCatchUp(catchUpJob(mailbox), delivery, fixture.catchUp);
    const stored = await fixture.catchUp.syncStates.read(toMailboxKey(mailbox), { wellKnown: 'inbox' });
    assert.ok(stored !== undefined);
    assert.ok(stored !== 'unreadable');
    fixture.client.rejectedStates.add(stored);
    const id = fixture.client.deliver(mailbox, message('<after@x>'), { internetMessageId: '<after@x>' });

    const summary = await handleCatchUp(catchUpJob(mailbox), delivery, fixture.catchUp);

    assert.equal(summary.fullSyncs, 1);
    assert.deepEqual(scanJobs(fixture.queue.sent).map((job) => job.messageId), [id]);
  });

  it('runs a full sync when the stored state is unreadable', async () => {
    const fixture = await createCatchUpFixture();
    const mailbox = uniqueMailbox();
    const id = fixture.client.deliver(mailbox, message('<any@x>'), { internetMessageId: '<any@x>' });
    await fixture.syncTable.upsertEntity({ partitionKey: toMailboxKey(mailbox), rowKey: 'w-inbox', state: '' });

    const summary = await handleCatchUp(catchUpJob(mailbox), delivery, fixture.catchUp);

    assert.equal(summary.fullSyncs, 1);
    assert.deepEqual(scanJobs(fixture.queue.sent).map((job) => job.messageId), [id]);
  });

  it('leaves messages older than the window out of a full sync', async () => {
    const fixture = await createCatchUpFixture({ MAILSWEEP_CATCH_UP_FULL_SYNC_HOURS: '24' });
    const mailbox = uniqueMailbox();
    const old = new Date(Date.now() - 3 * 86_400_000).toISOString();
    fixture.client.deliver(mailbox, message('<old@x>'), { internetMessageId: '<old@x>', receivedAt: old });
    const id = fixture.client.deliver(mailbox, message('<new@x>'), { internetMessageId: '<new@x>' });

    const summary = await handleCatchUp(catchUpJob(mailbox), delivery, fixture.catchUp);

    assert.equal(summary.skipped, 1);
    assert.deepEqual(scanJobs(fixture.queue.sent).map((job) => job.messageId), [id]);
  });

  it('syncs the configured extra folders', async () => {
    const fixture = await createCatchUpFixture({ MAILSWEEP_CATCH_UP_FOLDERS: 'junkemail' });
    const mailbox = uniqueMailbox();
    const id = fixture.client.deliver(mailbox, message('<junk@x>'), { internetMessageId: '<junk@x>', folder: 'junkemail' });

    const summary = await handleCatchUp(catchUpJob(mailbox), delivery, fixture.catchUp);

    assert.equal(summary.folders, 2);
    assert.deepEqual(scanJobs(fixture.queue.sent).map((job) => job.messageId), [id]);
  });

  it('merges lastCatchUpAt into the mailbox row', async () => {
    const fixture = await createCatchUpFixture();
    const mailbox = uniqueMailbox();
    await fixture.mailboxes.createEntity({ partitionKey: 'mailbox', rowKey: mailbox, subscriptionId: 'sub-1' });

    await handleCatchUp(catchUpJob(mailbox.toUpperCase()), delivery, fixture.catchUp);

    const row = await fixture.mailboxes.getEntity<Record<string, unknown>>('mailbox', mailbox);
    assert.equal(row.subscriptionId, 'sub-1');
    assert.equal(typeof row.lastCatchUpAt, 'string');
  });

  it('rejects an invalid job as permanent', async () => {
    const fixture = await createCatchUpFixture();

    await assert.rejects(handleCatchUp({ kind: 'catch-up', mailbox: 'x' }, delivery, fixture.catchUp), {
      code: 'input-unreadable',
    });
  });
});
