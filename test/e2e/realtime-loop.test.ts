import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import type { VerdictRecord } from '../../src/arrival/verdict-log.js';
import { buildSamples, type Sample } from '../../src/samples/samples.js';
import type { SimMailbox } from '../graph-simulator/graph-simulator.js';
import { startLoopHarness, type LoopHarness } from './loop-harness.js';

const QUARANTINE_FOLDER = 'mailsweep quarantine';

function uniqueAddress(label: string): string {
  return `${label}-${randomBytes(4).toString('hex')}@contoso.com`;
}

function newMessageId(label: string): string {
  return `<${label}-${randomBytes(4).toString('hex')}@fabrikam.example>`;
}

function sampleByCategory(samples: Sample[], category: string): Sample {
  const sample = samples.find((entry) => entry.expected.category === category);
  assert.ok(sample, `no ${category} sample`);
  return sample;
}

/** Returns the folder holding a message with this internet message id, by display name. */
function folderOf(mailbox: SimMailbox, internetMessageId: string): string[] {
  return [...mailbox.messages.values()]
    .filter((message) => message.internetMessageId === internetMessageId)
    .map((message) => mailbox.folders.get(message.folderId)?.displayName ?? '?');
}

function scannedOnce(records: VerdictRecord[], internetMessageId: string): VerdictRecord {
  const matching = records.filter(
    (record) => record.internetMessageId === internetMessageId && record.outcome === 'scanned',
  );
  assert.equal(matching.length, 1, `verdicts for ${internetMessageId}: ${matching.length}`);
  return matching[0]!;
}

describe('real-time loop against the Graph simulator', () => {
  let loop: LoopHarness;
  let samples: Sample[];

  before(async () => {
    samples = await buildSamples();
    loop = await startLoopHarness();
  });

  after(async () => {
    await loop.close();
  });

  const deliver = (address: string, category: string, internetMessageId: string) =>
    loop.sim.deliverMessage(address, {
      mime: sampleByCategory(samples, category).raw,
      internetMessageId,
    });

  it('scans and acts on each sample on arrival', async () => {
    const address = uniqueAddress('arrival');
    const simMailbox = loop.sim.addMailbox(address);
    const row = await loop.addMailbox(address);
    assert.equal(row.state, 'active');
    assert.equal(loop.sim.subscriptions().length >= 1, true);
    const userLookups = loop.sim.requestLog.filter(
      (entry) => entry.method === 'GET' && entry.path === `/users/${address}`,
    );
    // One lookup by POST /api/mailboxes, which refuses an unknown user, and one by the
    // subscription manager, which keeps the id to check each notification against.
    assert.deepEqual(
      userLookups.map((entry) => entry.status),
      [200, 200],
    );

    const cases = ['malware', 'phishing', 'spam', 'clean'].map((category) => ({
      category,
      id: newMessageId(category),
    }));
    for (const entry of cases) {
      loop.sim.deliverMessage(address, {
        mime: sampleByCategory(samples, entry.category).raw,
        internetMessageId: entry.id,
      });
    }
    await loop.settle();

    const records = await loop.verdicts(address);
    for (const entry of cases) {
      assert.equal(scannedOnce(records, entry.id).category, entry.category);
    }
    const [malware, phishing, spam, clean] = cases.map((entry) => entry.id);
    assert.deepEqual(folderOf(simMailbox, malware!), [QUARANTINE_FOLDER]);
    assert.deepEqual(folderOf(simMailbox, phishing!), [QUARANTINE_FOLDER]);
    assert.deepEqual(folderOf(simMailbox, spam!), ['Junk Email']);
    assert.deepEqual(folderOf(simMailbox, clean!), ['Inbox']);
    const hidden = [...simMailbox.folders.values()].find(
      (folder) => folder.displayName === QUARANTINE_FOLDER,
    );
    assert.equal(hidden?.isHidden, true);
    assert.equal(scannedOnce(records, malware!).action, 'quarantine');
    assert.ok(scannedOnce(records, malware!).quarantineId);

    // The quarantine API lists what the consumer quarantined, without an index rebuild.
    const listing = await loop.api(`quarantine/items?mailbox=${encodeURIComponent(address)}`);
    assert.equal(listing.status, 200);
    const { items } = (await listing.json()) as { items: { id: string }[] };
    assert.deepEqual(
      items.map((item) => item.id).sort(),
      [malware!, phishing!].map((id) => scannedOnce(records, id).quarantineId).sort(),
    );
  });

  it('applies a rule from the rule store on arrival', async () => {
    const address = uniqueAddress('rules');
    const simMailbox = loop.sim.addMailbox(address);
    await loop.addMailbox(address);
    const ruleSet = {
      rules: [
        {
          name: 'Hold this mailbox',
          conditions: [{ field: 'mailbox', operator: 'is', value: address }],
          actions: [{ type: 'quarantine' }],
        },
      ],
    };
    const put = await loop.api('rules', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ruleSet),
    });
    assert.equal(put.status, 200);
    // Workers read the store at most once a second, in the background of a scan. The first
    // message after the change may still be scanned with the old set, the second with the new.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const clean = sampleByCategory(samples, 'clean').raw;
    loop.sim.deliverMessage(address, { mime: clean, internetMessageId: newMessageId('rules-first') });
    await loop.settle();
    await new Promise((resolve) => setTimeout(resolve, 300));
    const heldId = newMessageId('rules-second');
    loop.sim.deliverMessage(address, { mime: clean, internetMessageId: heldId });
    await loop.settle();

    const record = scannedOnce(await loop.verdicts(address), heldId);
    assert.equal(record.category, 'policy');
    assert.equal(record.action, 'quarantine');
    assert.deepEqual(folderOf(simMailbox, heldId), [QUARANTINE_FOLDER]);
  });

  it('sweeps mail from before the subscription', async () => {
    const address = uniqueAddress('existing');
    const simMailbox = loop.sim.addMailbox(address);
    const id = newMessageId('existing');
    loop.sim.deliverMessage(address, {
      mime: sampleByCategory(samples, 'malware').raw,
      internetMessageId: id,
    });

    await loop.addMailbox(address);
    await loop.settle();

    const records = await loop.verdicts(address);
    assert.equal(scannedOnce(records, id).trigger, 'catch-up');
    assert.deepEqual(folderOf(simMailbox, id), [QUARANTINE_FOLDER]);
  });

  it('scans a duplicated notification once', async () => {
    const address = uniqueAddress('duplicate');
    const simMailbox = loop.sim.addMailbox(address);
    await loop.addMailbox(address);
    const id = newMessageId('dup');

    loop.sim.notificationHooks.duplicateRate = 1;
    try {
      deliver(address, 'malware', id);
      await loop.settle();
    } finally {
      loop.sim.notificationHooks.duplicateRate = 0;
    }

    const changes = loop.sim.deliveries.filter(
      (delivery) =>
        delivery.kind === 'change' && JSON.stringify(delivery.body).includes(simMailbox.id),
    );
    assert.ok(changes.length >= 2, `change notifications: ${changes.length}`);
    const records = await loop.verdicts(address);
    assert.equal(scannedOnce(records, id).action, 'quarantine');
    assert.deepEqual(folderOf(simMailbox, id), [QUARANTINE_FOLDER]);
  });

  it('finds a dropped notification in the timer catch-up', async () => {
    const address = uniqueAddress('dropped');
    const simMailbox = loop.sim.addMailbox(address);
    await loop.addMailbox(address);
    await loop.settle();
    const id = newMessageId('dropped');

    loop.sim.notificationHooks.dropRate = 1;
    try {
      deliver(address, 'phishing', id);
      await loop.settle();
    } finally {
      loop.sim.notificationHooks.dropRate = 0;
    }
    const early = await loop.verdicts(address);
    assert.equal(early.filter((record) => record.internetMessageId === id).length, 0);
    assert.deepEqual(folderOf(simMailbox, id), ['Inbox']);

    const report = await loop.runSync();
    assert.equal(report.ran, true);
    assert.ok(report.catchUpJobs >= 1);
    await loop.settle();

    const records = await loop.verdicts(address);
    assert.equal(scannedOnce(records, id).category, 'phishing');
    assert.equal(scannedOnce(records, id).trigger, 'catch-up');
    assert.deepEqual(folderOf(simMailbox, id), [QUARANTINE_FOLDER]);
  });

  it('catches up after a bulk move sends only missed', async () => {
    const address = uniqueAddress('bulk');
    const simMailbox = loop.sim.addMailbox(address);
    await loop.addMailbox(address);
    await loop.settle();
    const ids = Array.from({ length: 30 }, (_, index) => newMessageId(`bulk-${index}`));

    // The messages sit unseen in Archive, which the catch-up does not sweep, until a rule moves
    // them all to the Inbox at once.
    loop.sim.notificationHooks.dropRate = 1;
    const delivered = ids.map((id, index) =>
      loop.sim.deliverMessage(address, {
        mime: sampleByCategory(samples, index === 0 ? 'malware' : 'clean').raw,
        internetMessageId: id,
        folder: 'archive',
      }),
    );
    await loop.sim.flushNotifications();
    loop.sim.notificationHooks.dropRate = 0;
    const before = loop.sim.deliveries.length;
    loop.sim.moveInBulk(address, delivered.map((message) => message.id), 'inbox');
    await loop.settle();

    const sent = loop.sim.deliveries.slice(before);
    const lifecycle = sent.filter((delivery) => delivery.kind === 'lifecycle');
    assert.equal(lifecycle.length, 1);
    assert.equal(lifecycle[0]!.status, 202);
    const records = await loop.verdicts(address);
    for (const id of ids) {
      scannedOnce(records, id);
    }
    assert.deepEqual(folderOf(simMailbox, ids[0]!), [QUARANTINE_FOLDER]);
    assert.deepEqual(folderOf(simMailbox, ids[1]!), ['Inbox']);
  });

  it('scans every message under 429s', async () => {
    const address = uniqueAddress('throttled');
    const simMailbox = loop.sim.addMailbox(address);
    await loop.addMailbox(address);
    await loop.settle();
    const ids = Array.from({ length: 12 }, (_, index) => newMessageId(`throttled-${index}`));

    loop.sim.faults.throttleRate = 0.3;
    try {
      for (const [index, id] of ids.entries()) {
        loop.sim.deliverMessage(address, {
          mime: sampleByCategory(samples, index % 3 === 0 ? 'spam' : 'clean').raw,
          internetMessageId: id,
        });
      }
      await loop.settle();
    } finally {
      loop.sim.faults.throttleRate = 0;
    }

    assert.ok(loop.sim.stats(address).throttled > 0);
    const records = await loop.verdicts(address);
    for (const [index, id] of ids.entries()) {
      assert.equal(scannedOnce(records, id).category, index % 3 === 0 ? 'spam' : 'clean');
      assert.deepEqual(folderOf(simMailbox, id), [index % 3 === 0 ? 'Junk Email' : 'Inbox']);
    }
    assert.ok(loop.sim.stats(address).peakConcurrency <= 4);
    assert.equal(loop.queue.deadLetters().length, 0);
  });

  it('records a message deleted before the scan as gone', async () => {
    const address = uniqueAddress('deleted');
    const simMailbox = loop.sim.addMailbox(address);
    await loop.addMailbox(address);
    await loop.settle();
    const id = newMessageId('deleted');

    loop.sim.notificationHooks.delayMs = 100;
    try {
      const message = deliver(address, 'malware', id);
      simMailbox.messages.delete(message.id);
      await loop.settle();
      const records = await loop.verdicts(address);
      const gone = records.filter((record) => record.messageId === message.id);
      assert.equal(gone.length, 1);
      assert.equal(gone[0]!.outcome, 'gone');
      const notFound = loop.sim.requestLog.filter((entry) => entry.path.includes(message.id));
      assert.ok(notFound.length >= 1);
      assert.ok(notFound.every((entry) => entry.status === 404));
      assert.equal(notFound.length, 1, 'the 404 was retried');
    } finally {
      loop.sim.notificationHooks.delayMs = 0;
    }
    assert.equal(loop.queue.deadLetters().length, 0);
  });

  it('scans a message moved before its scan once', async () => {
    const address = uniqueAddress('moved');
    const simMailbox = loop.sim.addMailbox(address);
    await loop.addMailbox(address);
    await loop.settle();
    const id = newMessageId('moved');

    loop.sim.notificationHooks.delayMs = 100;
    try {
      const message = deliver(address, 'malware', id);
      // The user files it away before mailsweep gets to it: the item gets a new id.
      loop.sim.moveInBulk(address, [message.id], 'archive');
      await loop.settle();
    } finally {
      loop.sim.notificationHooks.delayMs = 0;
    }

    const records = await loop.verdicts(address);
    assert.equal(scannedOnce(records, id).action, 'quarantine');
    assert.deepEqual(folderOf(simMailbox, id), [QUARANTINE_FOLDER]);
    assert.equal(loop.queue.deadLetters().length, 0);
  });

  it('recreates a removed subscription and keeps scanning', async () => {
    const address = uniqueAddress('removed');
    const simMailbox = loop.sim.addMailbox(address);
    const row = await loop.addMailbox(address);
    await loop.settle();
    assert.ok(row.subscriptionId);

    loop.sim.sendLifecycleEvent(row.subscriptionId, 'reauthorizationRequired');
    await loop.settle();
    const reauthorized = loop.sim.requestLog.filter(
      (entry) => entry.path === `/subscriptions/${row.subscriptionId}/reauthorize`,
    );
    assert.deepEqual(
      reauthorized.map((entry) => entry.status),
      [204],
    );

    loop.sim.sendLifecycleEvent(row.subscriptionId, 'subscriptionRemoved');
    await loop.settle();
    const live = loop.sim.subscriptions().filter((entry) => entry.mailboxId === simMailbox.id);
    assert.equal(live.length, 1);
    assert.notEqual(live[0]!.id, row.subscriptionId);

    const id = newMessageId('after-removal');
    deliver(address, 'spam', id);
    await loop.settle();
    const records = await loop.verdicts(address);
    assert.equal(scannedOnce(records, id).trigger, 'arrival');
    assert.deepEqual(folderOf(simMailbox, id), ['Junk Email']);
  });

  it('marks an on-premises mailbox and skips it', async () => {
    const address = uniqueAddress('onprem');
    loop.sim.addMailbox(address, 'on-premises');
    const row = await loop.addMailbox(address);
    assert.equal(row.state, 'on-premises');
    assert.equal(loop.sim.subscriptions().filter((s) => s.resource.includes(address)).length, 0);

    const report = await loop.runSync();
    assert.equal(report.ran, true);
    await loop.settle();
    const status = (await (await loop.api('status')).json()) as {
      mailboxes: Array<{ mailbox: string; state: string }>;
    };
    assert.equal(status.mailboxes.find((m) => m.mailbox === address)?.state, 'on-premises');
    assert.equal((await loop.verdicts(address)).length, 0);
    assert.equal(loop.queue.deadLetters().length, 0);
  });
});
