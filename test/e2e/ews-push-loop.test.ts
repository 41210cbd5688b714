import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import type { VerdictRecord } from '../../src/arrival/verdict-log.js';
import { ewsPushServices } from '../../src/realtime/ews-push-services.js';
import {
  runEwsSubscriptionSync,
  type EwsSyncOptions,
} from '../../src/realtime/ews-subscription-sync.js';
import { buildSamples, type Sample } from '../../src/samples/samples.js';
import { silentLogger } from '../../src/shared/logger.js';
import {
  startEwsSimulator,
  type EwsSimulator,
  type SimMailbox,
} from '../ews-simulator/ews-simulator.js';
import { FAST_RETRY, SERVICE_PASSWORD, SERVICE_USER } from '../ews/ews-test-support.js';
import { newMailEvents, notificationRequest } from '../realtime/ews-push-fixture.js';
import { startLoopHarness, type LoopHarness } from './loop-harness.js';

const QUARANTINE_FOLDER = 'mailsweep quarantine';
/** One StatusFrequency minute of the simulator, in real milliseconds. */
const MINUTE_MS = 300;

function newMessageId(label: string): string {
  return `<${label}-${randomBytes(4).toString('hex')}@fabrikam.example>`;
}

function folderOf(mailbox: SimMailbox, internetMessageId: string): string[] {
  return [...mailbox.items.values()]
    .filter((item) => item.internetMessageId === internetMessageId)
    .map((item) => mailbox.folders.get(item.folderId)?.displayName ?? '?');
}

function scannedOnce(records: VerdictRecord[], internetMessageId: string): VerdictRecord {
  const matching = records.filter(
    (record) => record.internetMessageId === internetMessageId && record.outcome === 'scanned',
  );
  assert.equal(matching.length, 1, `verdicts for ${internetMessageId}: ${matching.length}`);
  return matching[0]!;
}

describe('EWS push loop: simulator, local host, queue and scan', () => {
  const address = `onprem-${randomBytes(4).toString('hex')}@contoso.com`;
  let ews: EwsSimulator;
  let loop: LoopHarness;
  let samples: Sample[];
  let mailbox: SimMailbox;

  before(async () => {
    samples = await buildSamples();
    ews = await startEwsSimulator({
      accounts: [{ user: SERVICE_USER, password: SERVICE_PASSWORD, impersonate: 'all' }],
      push: { minuteMs: MINUTE_MS },
    });
    mailbox = ews.addMailbox(address);
    loop = await startLoopHarness({
      env: {
        MAILSWEEP_EWS_URL: ews.url,
        MAILSWEEP_EWS_AUTH: 'basic',
        MAILSWEEP_EWS_USERNAME: SERVICE_USER,
        MAILSWEEP_EWS_PASSWORD: SERVICE_PASSWORD,
        MAILSWEEP_ONPREM_MAILBOXES: address,
        MAILSWEEP_EWS_PUSH_STATUS_FREQUENCY_MINUTES: '1',
      },
      ews: { ca: ews.ca, retry: FAST_RETRY },
    });
  });

  after(async () => {
    await loop.close();
    await ews.close();
  });

  const sample = (category: string): Buffer => {
    const found = samples.find((entry) => entry.expected.category === category);
    assert.ok(found, `no ${category} sample`);
    return found.raw;
  };

  async function runSync(options: EwsSyncOptions = {}) {
    return runEwsSubscriptionSync(await ewsPushServices(process.env), silentLogger, options);
  }

  /** Waits until no push delivery, scan job or redelivery is left. */
  async function settle(): Promise<void> {
    for (;;) {
      const before = ews.push.deliveries.length;
      await ews.push.whenIdle();
      await loop.queue.whenIdle();
      await ews.push.whenIdle();
      if (ews.push.deliveries.length === before) return;
    }
  }

  it('scans and quarantines pushed mail exactly once', async () => {
    const report = await runSync();
    assert.equal(report.subscribed, 1);
    assert.equal(report.catchUpJobs, 1);
    await settle();

    const malware = newMessageId('malware');
    const clean = newMessageId('clean');
    ews.deliverMessage(address, { mime: sample('malware'), internetMessageId: malware });
    ews.deliverMessage(address, { mime: sample('clean'), internetMessageId: clean });
    await settle();

    const pushed = ews.push.deliveries.filter((d) => d.events.includes('NewMailEvent'));
    assert.ok(pushed.length >= 1);
    assert.ok(pushed.every((d) => d.status === 200 && d.answer === 'OK'));
    const records = await loop.verdicts(address);
    assert.equal(scannedOnce(records, malware).category, 'malware');
    assert.equal(scannedOnce(records, malware).trigger, 'arrival');
    assert.equal(scannedOnce(records, malware).action, 'quarantine');
    assert.equal(scannedOnce(records, clean).category, 'clean');
    assert.deepEqual(folderOf(mailbox, malware), [QUARANTINE_FOLDER]);
    assert.deepEqual(folderOf(mailbox, clean), ['Inbox']);
  });

  it('answers Unsubscribe to an unknown subscription over HTTP', async () => {
    const request = notificationRequest({ callbackId: 'b'.repeat(32) }, 'x', newMailEvents('i'));
    const response = await fetch(`${loop.host.url}/api/ews/notifications${request.url.search}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: request.body,
    });
    assert.equal(response.status, 200);
    assert.match(await response.text(), /<SubscriptionStatus>Unsubscribe<\/SubscriptionStatus>/);
  });

  it('rejects a wrong callback secret over HTTP', async () => {
    const services = await ewsPushServices(process.env);
    const [row] = await services.subscriptions.list();
    assert.ok(row);
    const request = notificationRequest(row, 'wrong-secret', newMailEvents('forged-item'));
    const response = await fetch(`${loop.host.url}/api/ews/notifications${request.url.search}`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: request.body,
    });
    assert.equal(response.status, 401);
  });

  it('finds mail that push missed through the catch-up after re-subscribing', async () => {
    const [old] = ews.push.subscriptions().filter((s) => s.state === 'active');
    assert.ok(old);
    ews.push.blocked = true;
    const phishing = newMessageId('phishing');
    ews.deliverMessage(address, { mime: sample('phishing'), internetMessageId: phishing });
    await ews.push.whenIdle();
    assert.equal(old.state, 'failed');
    const tries = ews.push.deliveries.filter((d) => d.subscriptionId === old.id && d.retry > 0);
    assert.ok(tries.length >= 1, 'the failed delivery was retried');
    assert.equal(
      (await loop.verdicts(address)).filter((r) => r.internetMessageId === phishing).length,
      0,
    );

    ews.push.blocked = false;
    // Three silent StatusFrequency periods (3 minutes of the app's clock) make it stale.
    const report = await runSync({ now: new Date(Date.now() + 4 * 60_000) });
    assert.equal(report.resubscribed, 1);
    assert.equal(report.catchUpJobs, 1);
    await settle();

    const records = await loop.verdicts(address);
    const verdict = scannedOnce(records, phishing);
    assert.equal(verdict.category, 'phishing');
    assert.equal(verdict.trigger, 'catch-up');
    assert.deepEqual(folderOf(mailbox, phishing), [QUARANTINE_FOLDER]);

    // The new subscription pushes again.
    const later = newMessageId('later');
    ews.deliverMessage(address, { mime: sample('malware'), internetMessageId: later });
    await settle();
    assert.equal(scannedOnce(await loop.verdicts(address), later).trigger, 'arrival');
  });
});
