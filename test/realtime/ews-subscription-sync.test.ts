import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { EwsPushClient } from '../../src/ews/ews-push.js';
import {
  createEwsPushServices,
  EWS_MANAGER_LEASE_NAME,
} from '../../src/realtime/ews-push-services.js';
import { runEwsSubscriptionSync } from '../../src/realtime/ews-subscription-sync.js';
import { TableLease } from '../../src/realtime/table-lease.js';
import type { CatchUpJob } from '../../src/queue/jobs.js';
import type { EwsSimulator } from '../ews-simulator/ews-simulator.js';
import { clientFor, startSimulator } from '../ews/ews-test-support.js';
import type { RecordingQueue } from '../helpers/realtime-fixture.js';
import { createRecordingLogger } from '../quarantine/azurite-test-support.js';
import { createEwsTestServices, ONPREM_MAILBOX, storeSubscription } from './ews-push-fixture.js';

const HYBRID_MAILBOX = 'hybrid@contoso.com';
const LEGACY_MAILBOX = 'ann@legacy.contoso.com';
const ENV = {
  MAILSWEEP_ONPREM_DOMAINS: 'legacy.contoso.com',
  MAILSWEEP_PUBLIC_BASE_URL: 'https://mailsweep.contoso.com/',
};

function catchUps(queue: RecordingQueue): CatchUpJob[] {
  return queue.jobs.filter((job): job is CatchUpJob => job.kind === 'catch-up');
}

describe('EWS subscription sync', () => {
  let sim: EwsSimulator;
  let push: EwsPushClient;

  before(async () => {
    sim = await startSimulator();
    for (const address of [ONPREM_MAILBOX, HYBRID_MAILBOX, LEGACY_MAILBOX]) {
      sim.addMailbox(address);
    }
    push = new EwsPushClient(clientFor(sim).soapTransport);
  });

  after(async () => {
    await sim.close();
  });

  /** Services whose mailboxes table has HYBRID (marked on premises) and LEGACY (active). */
  async function setUp(env: Record<string, string> = {}) {
    const built = await createEwsTestServices({ push, env: { ...ENV, ...env } });
    const now = new Date();
    const mailboxes = built.realtime.mailboxes;
    const hybrid = await mailboxes.add(HYBRID_MAILBOX, {}, now);
    assert.ok(await mailboxes.update(hybrid, { state: 'on-premises' }));
    const legacy = await mailboxes.add(LEGACY_MAILBOX, {}, now);
    assert.ok(await mailboxes.update(legacy, { state: 'active' }));
    return { ...built, queue: built.queue as RecordingQueue };
  }

  it('subscribes on-premises mailboxes and queues catch-ups', async () => {
    const { services, queue } = await setUp();
    const report = await runEwsSubscriptionSync(services, createRecordingLogger());

    assert.equal(report.ran, true);
    assert.equal(report.subscribed, 3);
    assert.equal(report.failed, 0);
    const rows = await services.subscriptions.list();
    assert.deepEqual(rows.map((row) => row.mailbox).sort(), [
      LEGACY_MAILBOX,
      HYBRID_MAILBOX,
      ONPREM_MAILBOX,
    ].sort());
    for (const row of rows) {
      const subscription = sim.push.subscriptions().find((s) => s.id === row.subscriptionId);
      assert.ok(subscription, `subscription of ${row.mailbox}`);
      const url = new URL(subscription.url);
      assert.equal(
        `${url.origin}${url.pathname}`,
        'https://mailsweep.contoso.com/api/ews/notifications',
      );
      assert.equal(url.searchParams.get('id'), row.callbackId);
      assert.ok((url.searchParams.get('key') ?? '').length >= 40);
      assert.equal(subscription.statusFrequencyMinutes, 5);
    }
    // The Graph sync covers LEGACY, whose row is active.
    assert.deepEqual(
      catchUps(queue).map((job) => [job.mailbox, job.reason]).sort(),
      [
        [HYBRID_MAILBOX, 'subscription-created'],
        [ONPREM_MAILBOX, 'subscription-created'],
      ],
    );
  });

  it('keeps live subscriptions on the next run', async () => {
    const { services, queue } = await setUp();
    await runEwsSubscriptionSync(services, createRecordingLogger());
    const subscribes = sim.requestLog.filter((entry) => entry.operation === 'Subscribe').length;
    const rows = await services.subscriptions.list();

    const report = await runEwsSubscriptionSync(services, createRecordingLogger());
    assert.equal(report.subscribed + report.resubscribed, 0);
    const subscribesAfter = sim.requestLog.filter((entry) => entry.operation === 'Subscribe');
    assert.equal(subscribesAfter.length, subscribes);
    assert.deepEqual(
      (await services.subscriptions.list()).map((row) => row.callbackId).sort(),
      rows.map((row) => row.callbackId).sort(),
    );
    assert.deepEqual(
      catchUps(queue)
        .slice(2)
        .map((job) => job.reason),
      ['timer', 'timer'],
    );
  });

  it('resubscribes after three silent periods', async () => {
    const { services } = await setUp();
    await runEwsSubscriptionSync(services, createRecordingLogger());
    const before = await services.subscriptions.list();
    const silent = new Date(Date.now() + 16 * 60_000);

    const logger = createRecordingLogger();
    const report = await runEwsSubscriptionSync(services, logger, { now: silent });
    assert.equal(report.resubscribed, 3);
    const warnings = logger.lines.filter((line) => line.message.includes('went silent'));
    assert.equal(warnings.length, 3);
    assert.equal(warnings[0]?.fields?.silentMinutes, 16);
    assert.equal(report.removed, 3);
    const afterRows = await services.subscriptions.list();
    assert.equal(afterRows.length, 3);
    for (const row of afterRows) {
      assert.ok(!before.some((old) => old.callbackId === row.callbackId));
      assert.equal(row.lastSeenAt, silent.toISOString());
    }
  });

  it('resubscribes when StatusFrequency changes', async () => {
    const { services, realtime, leases, ewsTable } = await setUp();
    await runEwsSubscriptionSync(services, createRecordingLogger());
    const settings = realtime.settings;
    const changed = await createEwsPushServices(
      {
        ...realtime,
        settings: { ...settings, ews: { ...settings.ews, pushStatusFrequencyMinutes: 7 } },
      },
      { push, tables: { ewsSubscriptions: ewsTable, leases } },
    );

    const logger = createRecordingLogger();
    const report = await runEwsSubscriptionSync(changed, logger);
    assert.equal(report.resubscribed, 3);
    const rows = await changed.subscriptions.list();
    assert.deepEqual(
      rows.map((row) => row.statusFrequencyMinutes),
      [7, 7, 7],
    );
    for (const row of rows) {
      const subscription = sim.push.subscriptions().find((s) => s.id === row.subscriptionId);
      assert.equal(subscription?.statusFrequencyMinutes, 7);
    }
    assert.equal(logger.lines.filter((line) => line.message.includes('changed')).length, 3);
  });

  it('deletes rows of mailboxes no longer on premises', async () => {
    const { services } = await setUp();
    const { record } = await storeSubscription(services, { mailbox: 'moved@contoso.com' });
    const report = await runEwsSubscriptionSync(services, createRecordingLogger());
    assert.equal(report.removed, 1);
    assert.equal(await services.subscriptions.get(record.callbackId), undefined);
  });

  it('goes on after one mailbox fails', async () => {
    const { services, queue } = await setUp({
      MAILSWEEP_ONPREM_MAILBOXES: `missing@contoso.com,${ONPREM_MAILBOX}`,
    });
    const logger = createRecordingLogger();
    const report = await runEwsSubscriptionSync(services, logger);
    assert.equal(report.failed, 1);
    assert.equal(report.subscribed, 3);
    const rows = await services.subscriptions.list();
    assert.ok(!rows.some((row) => row.mailbox === 'missing@contoso.com'));
    const failure = logger.lines.find((line) => line.level === 'error');
    assert.equal(failure?.fields?.ewsCode, 'ErrorNonExistentMailbox');
    assert.ok(!JSON.stringify(logger.lines).includes('missing@contoso.com'));
    assert.ok(catchUps(queue).some((job) => job.mailbox === 'missing@contoso.com'));
  });

  it('does nothing without an EWS client', async () => {
    const { services, queue } = await createEwsTestServices({ env: ENV });
    const report = await runEwsSubscriptionSync(services, createRecordingLogger());
    assert.equal(report.ran, false);
    assert.equal((queue as RecordingQueue).jobs.length, 0);
  });

  it('skips the run while another instance holds the lease', async () => {
    const { services, queue, leases } = await setUp();
    // Another instance: a lease object of its own on the same row.
    const other = new TableLease(leases, EWS_MANAGER_LEASE_NAME, 60_000);
    const otherLease = await other.tryAcquire();
    assert.ok(otherLease);
    const report = await runEwsSubscriptionSync(services, createRecordingLogger());
    assert.equal(report.ran, false);
    assert.equal(queue.jobs.length, 0);
    await otherLease.release();
  });
});
