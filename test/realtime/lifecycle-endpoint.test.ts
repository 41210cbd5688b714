import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import '../../functions/index.js';
import type { LocalHost } from '../../src/functions-host/local-host.js';
import { overrideRealtimeServices } from '../../src/realtime/provider.js';
import type { RealtimeServices } from '../../src/realtime/services.js';
import { runSubscriptionSync } from '../../src/realtime/subscription-sync.js';
import { ScannerError } from '../../src/shared/errors.js';
import { createRecordingLogger } from '../quarantine/azurite-test-support.js';
import { InMemoryGraph } from '../helpers/in-memory-graph.js';
import { createTestServices, RecordingQueue, startTestHost } from '../helpers/realtime-fixture.js';

describe('POST /api/graph/lifecycle', () => {
  let host: LocalHost;
  let services: RealtimeServices;
  let graph: InMemoryGraph;
  let queue: RecordingQueue;
  let lifecycleUrl: string;

  before(async () => {
    graph = new InMemoryGraph();
    queue = new RecordingQueue();
    const started = await startTestHost(
      async (url) => (await createTestServices({ baseUrl: url, graph, queue })).services,
    );
    host = started.host;
    services = started.services;
    lifecycleUrl = `${host.url}/api/graph/lifecycle`;
    await services.mailboxes.add('a@contoso.com', {}, new Date());
    await runSubscriptionSync(services, createRecordingLogger());
    queue.jobs.length = 0;
  });
  after(async () => {
    overrideRealtimeServices(undefined);
    await host.close();
  });

  const current = () => {
    const [subscription] = graph.subscriptionsOf('a@contoso.com');
    assert.ok(subscription);
    return subscription;
  };

  it('enqueues a catch-up job on missed', async () => {
    const status = await graph.deliver(lifecycleUrl, [
      graph.lifecycleNotification(current(), 'missed'),
    ]);
    assert.equal(status, 202);
    assert.deepEqual(
      queue.jobs.map((job) => [job.kind, job.kind === 'catch-up' ? job.reason : '', job.mailbox]),
      [['catch-up', 'missed', 'a@contoso.com']],
    );
    queue.jobs.length = 0;
  });

  it('answers 503 when the catch-up cannot be enqueued', async () => {
    queue.failing = true;
    try {
      const status = await graph.deliver(lifecycleUrl, [
        graph.lifecycleNotification(current(), 'missed'),
      ]);
      assert.equal(status, 503);
    } finally {
      queue.failing = false;
    }
  });

  it('reauthorizes on reauthorizationRequired', async () => {
    const subscription = current();
    const status = await graph.deliver(lifecycleUrl, [
      graph.lifecycleNotification(subscription, 'reauthorizationRequired'),
    ]);
    assert.equal(status, 202);
    assert.ok(graph.calls.includes(`reauthorize ${subscription.id}`));
  });

  it('renews when reauthorizing fails', async () => {
    const subscription = current();
    graph.reauthorizeFailures.push(new ScannerError('mailbox-request-failed', 'denied'));
    await graph.deliver(lifecycleUrl, [
      graph.lifecycleNotification(subscription, 'reauthorizationRequired'),
    ]);
    assert.ok(graph.calls.includes(`renew ${subscription.id}`));
  });

  it('recreates on subscriptionRemoved', async () => {
    const old = current();
    graph.subscriptions.delete(old.id);
    const status = await graph.deliver(lifecycleUrl, [
      graph.lifecycleNotification(old, 'subscriptionRemoved'),
    ]);
    assert.equal(status, 202);
    const replacement = current();
    assert.notEqual(replacement.id, old.id);
    assert.equal((await services.mailboxes.get('a@contoso.com'))?.subscriptionId, replacement.id);
  });

  it('drops a lifecycle event with a wrong clientState', async () => {
    const calls = graph.calls.length;
    const forged = {
      ...graph.lifecycleNotification(current(), 'subscriptionRemoved'),
      clientState: 'forged',
    };
    const status = await graph.deliver(lifecycleUrl, [forged]);
    assert.equal(status, 202);
    assert.equal(graph.calls.length, calls);
    assert.equal(queue.jobs.length, 0);
  });

  it('drops a lifecycle event naming another mailbox', async () => {
    const forged = {
      ...graph.lifecycleNotification(current(), 'missed'),
      resource: 'users/mallory@contoso.com/messages',
    };
    await graph.deliver(lifecycleUrl, [forged]);
    assert.equal(queue.jobs.length, 0);
  });

  it('rejects malformed JSON with 400', async () => {
    const response = await fetch(lifecycleUrl, { method: 'POST', body: '{not json' });
    assert.equal(response.status, 400);
  });

  it('answers the validation request', async () => {
    const response = await fetch(`${lifecycleUrl}?validationToken=abc%20123`, { method: 'POST' });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'abc 123');
  });
});
