import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import '../../functions/index.js';
import type { LocalHost } from '../../src/functions-host/local-host.js';
import { overrideRealtimeServices } from '../../src/realtime/provider.js';
import { SubscriptionManager } from '../../src/realtime/subscription-manager.js';
import { runSubscriptionSync } from '../../src/realtime/subscription-sync.js';
import { ScannerError } from '../../src/shared/errors.js';
import { createRecordingLogger } from '../quarantine/azurite-test-support.js';
import { InMemoryGraph } from '../helpers/in-memory-graph.js';
import { createTestServices, RecordingQueue, startTestHost } from '../helpers/realtime-fixture.js';

const MINUTE = 60_000;

describe('runSubscriptionSync', () => {
  let host: LocalHost;
  let baseUrl: string;

  before(async () => {
    const started = await startTestHost(
      async (url) => (await createTestServices({ baseUrl: url })).services,
    );
    host = started.host;
    baseUrl = host.url;
  });
  after(async () => {
    overrideRealtimeServices(undefined);
    await host.close();
  });

  /** Services on fresh tables whose clock the test moves. */
  async function fresh(mailboxes: string[]) {
    let now = Date.now();
    const graph = new InMemoryGraph();
    graph.now = () => new Date(now);
    const queue = new RecordingQueue();
    const built = await createTestServices({ baseUrl, graph, queue, now: () => new Date(now) });
    for (const mailbox of mailboxes) {
      await built.services.mailboxes.add(mailbox, {}, new Date(now));
    }
    const advance = (ms: number) => {
      now += ms;
    };
    return { ...built, queue, advance, logger: createRecordingLogger() };
  }

  it('creates one validated subscription per mailbox', async () => {
    const { services, graph, queue, logger } = await fresh(['a@contoso.com', 'b@contoso.com']);
    const report = await runSubscriptionSync(services, logger);
    assert.equal(report.ran, true);
    assert.equal(report.outcomes.created, 2);
    for (const mailbox of ['a@contoso.com', 'b@contoso.com']) {
      const [subscription] = graph.subscriptionsOf(mailbox);
      assert.equal(graph.subscriptionsOf(mailbox).length, 1);
      assert.equal(subscription?.notificationUrl, `${baseUrl}/api/graph/notifications`);
      assert.equal(subscription?.lifecycleNotificationUrl, `${baseUrl}/api/graph/lifecycle`);
      const record = await services.mailboxes.get(mailbox);
      assert.equal(record?.state, 'active');
      assert.equal(record?.subscriptionId, subscription?.id);
      const stored = await services.subscriptions.get(subscription?.id ?? '');
      assert.equal(stored?.userId, graph.userIdOf(mailbox));
      assert.notEqual(stored?.clientStateHash, subscription?.clientState);
    }
    const reasons = queue.jobs.map((job) => (job.kind === 'catch-up' ? job.reason : job.kind));
    assert.deepEqual(reasons, ['subscription-created', 'subscription-created']);
  });

  it('gives each subscription its own clientState', async () => {
    const { services, graph, logger } = await fresh(['a@contoso.com', 'b@contoso.com']);
    await runSubscriptionSync(services, logger);
    const states = [...graph.subscriptions.values()].map((s) => s.clientState);
    assert.equal(new Set(states).size, 2);
    assert.ok(states.every((state) => state.length >= 32));
  });

  it('creates exactly one subscription per mailbox in two concurrent runs', async () => {
    const mailboxes = Array.from({ length: 6 }, (_, i) => `user${i}@contoso.com`);
    const first = await fresh(mailboxes);
    // A second instance: its own services object on the same tables.
    const second = await createTestServices({
      baseUrl,
      graph: first.graph,
      tables: first.tables,
      queue: first.queue,
    });
    const reports = await Promise.all([
      runSubscriptionSync(first.services, first.logger),
      runSubscriptionSync(second.services, createRecordingLogger()),
    ]);
    assert.equal(reports.filter((report) => report.ran).length >= 1, true);
    for (const mailbox of mailboxes) {
      assert.equal(first.graph.subscriptionsOf(mailbox).length, 1, mailbox);
    }
    // A later run finds nothing to create.
    const again = await runSubscriptionSync(second.services, createRecordingLogger());
    assert.equal(again.outcomes.created, undefined);
    assert.equal(first.graph.subscriptions.size, mailboxes.length);
  });

  it('renews only within the renewal window', async () => {
    const { services, graph, advance, logger } = await fresh(['a@contoso.com']);
    await runSubscriptionSync(services, logger);
    const [created] = graph.subscriptionsOf('a@contoso.com');
    const firstExpiry = created?.expirationDateTime;

    advance(60 * MINUTE);
    const early = await runSubscriptionSync(services, logger);
    assert.equal(early.outcomes.unchanged, 1);

    advance((4200 - 60 - 1440 + 10) * MINUTE);
    const due = await runSubscriptionSync(services, logger);
    assert.equal(due.outcomes.renewed, 1);
    const [renewed] = graph.subscriptionsOf('a@contoso.com');
    assert.equal(renewed?.id, created?.id);
    assert.ok(Date.parse(renewed?.expirationDateTime ?? '') > Date.parse(firstExpiry ?? ''));
    const record = await services.mailboxes.get('a@contoso.com');
    assert.equal(record?.subscriptionExpiresAt, renewed?.expirationDateTime);
  });

  it('recreates a subscription Graph no longer lists', async () => {
    const { services, graph, logger } = await fresh(['a@contoso.com']);
    await runSubscriptionSync(services, logger);
    const [old] = graph.subscriptionsOf('a@contoso.com');
    graph.subscriptions.delete(old?.id ?? '');
    const report = await runSubscriptionSync(services, logger);
    assert.equal(report.outcomes.created, 1);
    const [replacement] = graph.subscriptionsOf('a@contoso.com');
    assert.notEqual(replacement?.id, old?.id);
    assert.equal(await services.subscriptions.get(old?.id ?? ''), undefined);
  });

  it('recreates when renewal finds the subscription gone', async () => {
    const { services, graph, advance, logger } = await fresh(['a@contoso.com']);
    await runSubscriptionSync(services, logger);
    graph.renewFailures.push(new ScannerError('mailbox-not-found', 'gone'));
    advance((4200 - 1000) * MINUTE);
    const report = await runSubscriptionSync(services, logger);
    assert.equal(report.outcomes.created, 1);
    assert.equal(graph.subscriptionsOf('a@contoso.com').length, 1);
  });

  it('marks an on-premises mailbox and carries on', async () => {
    const { services, graph, queue, logger } = await fresh([
      'onprem@contoso.com',
      'cloud@contoso.com',
    ]);
    graph.onPremises.add('onprem@contoso.com');
    const report = await runSubscriptionSync(services, logger);
    assert.equal(report.outcomes['on-premises'], 1);
    assert.equal(report.outcomes.created, 1);
    assert.equal((await services.mailboxes.get('onprem@contoso.com'))?.state, 'on-premises');
    assert.equal((await services.mailboxes.get('cloud@contoso.com'))?.state, 'active');
    assert.deepEqual(
      queue.jobs.map((job) => job.mailbox),
      ['cloud@contoso.com'],
    );

    const creates = graph.calls.filter((call) => call === 'create onprem@contoso.com').length;
    await runSubscriptionSync(services, logger);
    assert.equal(
      graph.calls.filter((call) => call === 'create onprem@contoso.com').length,
      creates,
    );
  });

  it('retries creation after validation failures', async () => {
    const { services, graph, logger } = await fresh(['a@contoso.com']);
    const timeout = new ScannerError(
      'mailbox-request-failed',
      'Subscription validation request timed out',
    );
    graph.createFailures.push(timeout, timeout);
    const report = await runSubscriptionSync(services, logger);
    assert.equal(report.outcomes.created, 1);
    assert.equal(graph.calls.filter((call) => call.startsWith('create')).length, 3);
    assert.equal(logger.lines.filter((line) => line.message.includes('retrying')).length, 2);
  });

  it('marks a mailbox failed after the last retry and logs it', async () => {
    const { services, graph, logger } = await fresh(['a@contoso.com']);
    const failure = new ScannerError('mailbox-unavailable', 'Graph is down');
    graph.createFailures.push(failure, failure, failure, failure);
    const report = await runSubscriptionSync(services, logger);
    assert.equal(report.outcomes.failed, 1);
    const record = await services.mailboxes.get('a@contoso.com');
    assert.equal(record?.state, 'failed');
    assert.equal(record?.lastError, 'mailbox-unavailable');
    assert.equal(report.unhealthyMailboxes, 1);
    const alert = logger.lines.find(
      (line) => line.message === 'Monitored mailbox is not covered by notifications',
    );
    assert.equal(alert?.level, 'error');
    assert.doesNotMatch(JSON.stringify(logger.lines), /a@contoso\.com/);
  });

  it('keeps group membership in sync', async () => {
    const groupId = '0f0e0d0c-0b0a-4909-8807-060504030201';
    const { services, graph, logger } = await fresh([]);
    graph.groups.set(groupId, ['m1@contoso.com', 'm2@contoso.com']);
    await services.mailboxes.putGroup({ groupId, addedAt: new Date().toISOString() });
    await runSubscriptionSync(services, logger);
    assert.equal(graph.subscriptionsOf('m1@contoso.com').length, 1);
    assert.equal(graph.subscriptionsOf('m2@contoso.com').length, 1);

    graph.groups.set(groupId, ['m1@contoso.com']);
    await runSubscriptionSync(services, logger);
    assert.equal(await services.mailboxes.get('m2@contoso.com'), undefined);
    assert.equal(graph.subscriptionsOf('m2@contoso.com').length, 0);
    assert.equal(graph.subscriptionsOf('m1@contoso.com').length, 1);
  });

  it('keeps members when the group cannot be listed', async () => {
    const groupId = '1f0e0d0c-0b0a-4909-8807-060504030201';
    const { services, graph, logger } = await fresh([]);
    graph.groups.set(groupId, ['m1@contoso.com']);
    await services.mailboxes.putGroup({ groupId, addedAt: new Date().toISOString() });
    await runSubscriptionSync(services, logger);
    graph.groups.delete(groupId);
    await runSubscriptionSync(services, logger);
    assert.equal((await services.mailboxes.get('m1@contoso.com'))?.state, 'active');
  });

  it('deletes subscriptions no mailbox refers to', async () => {
    const { services, graph, logger } = await fresh(['a@contoso.com']);
    await runSubscriptionSync(services, logger);
    const orphan = await graph.createSubscription({
      mailbox: 'a@contoso.com',
      notificationUrl: `${baseUrl}/api/graph/notifications`,
      lifecycleNotificationUrl: `${baseUrl}/api/graph/lifecycle`,
      clientState: 'orphan-client-state-0123456789abcdef',
      expiration: new Date(Date.now() + 60 * MINUTE),
    });
    const report = await runSubscriptionSync(services, logger);
    assert.equal(report.orphansDeleted, 1);
    assert.equal(graph.subscriptions.has(orphan.id), false);
    assert.equal(graph.subscriptionsOf('a@contoso.com').length, 1);
  });

  it('skips the run while another instance holds the lease', async () => {
    const { services, graph, tables, logger } = await fresh(['a@contoso.com']);
    const other = await createTestServices({ baseUrl, graph, tables });
    const lease = await other.services.managerLease.tryAcquire();
    assert.ok(lease);
    const report = await runSubscriptionSync(services, logger);
    assert.equal(report.ran, false);
    assert.equal(graph.subscriptions.size, 0);
    await lease.release();
    assert.equal((await runSubscriptionSync(services, logger)).ran, true);
  });

  it('deletes the loser of two creations without the lease', async () => {
    const { services, graph, tables } = await fresh(['a@contoso.com']);
    const other = await createTestServices({ baseUrl, graph, tables });
    const record = await services.mailboxes.get('a@contoso.com');
    assert.ok(record);
    const outcomes = await Promise.all([
      new SubscriptionManager(services, createRecordingLogger()).ensure(record, undefined),
      new SubscriptionManager(other.services, createRecordingLogger()).ensure(record, undefined),
    ]);
    assert.deepEqual([...outcomes].sort(), ['created', 'superseded']);
    const [live] = graph.subscriptionsOf('a@contoso.com');
    assert.equal(graph.subscriptionsOf('a@contoso.com').length, 1);
    assert.equal((await services.mailboxes.get('a@contoso.com'))?.subscriptionId, live?.id);
  });

  it('fails at once without a public base URL', async () => {
    const graph = new InMemoryGraph();
    const { services } = await createTestServices({
      graph,
      env: { MAILSWEEP_PUBLIC_BASE_URL: '' },
    });
    await services.mailboxes.add('a@contoso.com', {}, new Date());
    await assert.rejects(
      runSubscriptionSync(services, createRecordingLogger()),
      (error: unknown) => error instanceof ScannerError && error.code === 'config-invalid',
    );
    assert.equal(graph.calls.length, 0);
    assert.equal((await services.mailboxes.get('a@contoso.com'))?.state, 'pending');
  });
});
