import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import '../../functions/index.js';
import type { LocalHost } from '../../src/functions-host/local-host.js';
import { overrideRealtimeServices } from '../../src/realtime/provider.js';
import type { RealtimeServices } from '../../src/realtime/services.js';
import { runSubscriptionSync } from '../../src/realtime/subscription-sync.js';
import { createRecordingLogger } from '../quarantine/azurite-test-support.js';
import { InMemoryGraph } from '../helpers/in-memory-graph.js';
import { createTestServices, RecordingQueue, startTestHost } from '../helpers/realtime-fixture.js';

describe('POST /api/graph/notifications over HTTP', () => {
  let host: LocalHost;
  let services: RealtimeServices;
  const graph = new InMemoryGraph();
  const queue = new RecordingQueue();
  let url: string;

  before(async () => {
    const started = await startTestHost(
      async (baseUrl) => (await createTestServices({ baseUrl, graph, queue })).services,
    );
    host = started.host;
    services = started.services;
    url = `${host.url}/api/graph/notifications`;
    await services.mailboxes.add('a@contoso.com', {}, new Date());
    await services.mailboxes.add('b@contoso.com', {}, new Date());
    await runSubscriptionSync(services, createRecordingLogger());
    queue.jobs.length = 0;
  });
  after(async () => {
    overrideRealtimeServices(undefined);
    await host.close();
  });

  it('turns Graph notifications into scan jobs', async () => {
    const [a] = graph.subscriptionsOf('a@contoso.com');
    const [b] = graph.subscriptionsOf('b@contoso.com');
    assert.ok(a);
    assert.ok(b);
    const status = await graph.deliver(url, [
      graph.changeNotification(a, 'AAMkA1='),
      graph.changeNotification(b, 'AAMkB1='),
    ]);
    assert.equal(status, 202);
    assert.deepEqual(
      queue.jobs.map((job) => [job.mailbox, job.kind === 'scan-message' ? job.messageId : '']),
      [
        ['a@contoso.com', 'AAMkA1='],
        ['b@contoso.com', 'AAMkB1='],
      ],
    );
    queue.jobs.length = 0;
  });

  it("drops a notification carrying another subscription's clientState", async () => {
    const [a] = graph.subscriptionsOf('a@contoso.com');
    const [b] = graph.subscriptionsOf('b@contoso.com');
    assert.ok(a);
    assert.ok(b);
    const crossed = { ...graph.changeNotification(a, 'AAMkA2='), clientState: b.clientState };
    assert.equal(await graph.deliver(url, [crossed]), 202);
    assert.equal(queue.jobs.length, 0);
  });

  it("drops a notification naming the other mailbox's user", async () => {
    const [a] = graph.subscriptionsOf('a@contoso.com');
    assert.ok(a);
    const item = graph.changeNotification(a, 'AAMkA3=');
    item.resource = `Users/${graph.userIdOf('b@contoso.com')}/Messages/AAMkA3=`;
    assert.equal(await graph.deliver(url, [item]), 202);
    assert.equal(queue.jobs.length, 0);
  });

  it('rejects a body over 1 MB with 413', async () => {
    const [a] = graph.subscriptionsOf('a@contoso.com');
    assert.ok(a);
    const padding = 'x'.repeat(1024 * 1024);
    const response = await fetch(url, {
      method: 'POST',
      body: JSON.stringify({ value: [{ ...graph.changeNotification(a, 'AAMkBig='), padding }] }),
    });
    assert.equal(response.status, 413);
    assert.equal(queue.jobs.length, 0);
  });

  it('rejects an oversized chunked body with 413', async () => {
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 20; i += 1) controller.enqueue(new Uint8Array(64 * 1024).fill(32));
        controller.close();
      },
    });
    const response = await fetch(url, {
      method: 'POST',
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    assert.equal(response.status, 413);
  });

  it('rejects a validation token with markup', async () => {
    const response = await fetch(`${url}?validationToken=%3Cb%3Ehi%3C%2Fb%3E`, { method: 'POST' });
    assert.equal(response.status, 400);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  });
});
