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

  it('scans and acts on each sample on arrival', async () => {
    const address = uniqueAddress('arrival');
    const simMailbox = loop.sim.addMailbox(address);
    const row = await loop.addMailbox(address);
    assert.equal(row.state, 'active');
    assert.equal(loop.sim.subscriptions().length >= 1, true);

    const cases = ['malware', 'phishing', 'spam', 'clean'].map((category) => ({
      category,
      id: `<${category}-${randomBytes(4).toString('hex')}@fabrikam.example>`,
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
    const hidden = [...simMailbox.folders.values()].find((f) => f.displayName === QUARANTINE_FOLDER);
    assert.equal(hidden?.isHidden, true);
    assert.equal(scannedOnce(records, malware!).action, 'quarantine');
    assert.ok(scannedOnce(records, malware!).quarantineId);
  });
});
