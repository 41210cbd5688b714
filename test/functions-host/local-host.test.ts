import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startLocalHost, type LocalHost } from '../../src/functions-host/local-host.js';
import type { HttpRoute, QueueConsumer, TimerJob } from '../../src/functions-host/registry.js';
import { InProcessQueue } from '../../src/queue/in-process-queue.js';
import { createRecordingLogger } from '../quarantine/azurite-test-support.js';

describe('startLocalHost', () => {
  let host: LocalHost;
  const queue = new InProcessQueue({ retryDelayMs: 1 });
  const consumed: unknown[] = [];
  let timerRuns = 0;
  const logger = createRecordingLogger();

  const echo: HttpRoute = {
    name: 'echo-item',
    methods: ['GET', 'POST'],
    route: 'items/{id}/parts/{part?}',
    authLevel: 'anonymous',
    maxBodyBytes: 16,
    handler: async (request) => ({
      status: 200,
      json: {
        method: request.method,
        params: request.params,
        query: request.url.searchParams.get('q'),
        body: request.body.toString('utf8'),
        header: request.headers.get('x-test'),
      },
    }),
  };
  const failing: HttpRoute = {
    name: 'fail',
    methods: ['GET'],
    route: 'fail',
    authLevel: 'anonymous',
    maxBodyBytes: 0,
    handler: async () => {
      throw new Error('handler broke');
    },
  };
  const page: HttpRoute = {
    name: 'page',
    methods: ['GET', 'HEAD'],
    route: 'page',
    authLevel: 'anonymous',
    maxBodyBytes: 0,
    handler: async () => ({ status: 200, headers: { 'content-type': 'text/plain' }, body: 'hello' }),
  };
  const consumer: QueueConsumer = {
    name: 'consume-test',
    queueName: 'test-queue',
    handler: async (message, delivery) => {
      consumed.push({ message, deliveryCount: delivery.deliveryCount });
    },
  };
  const timer: TimerJob = {
    name: 'tick',
    schedule: '* * * * * *',
    handler: async () => {
      timerRuns += 1;
    },
  };

  before(async () => {
    host = await startLocalHost({
      port: 0,
      logger,
      functions: { http: [echo, failing, page], timers: [timer], queues: [consumer] },
      queueFor: (name) => {
        assert.equal(name, 'test-queue');
        return queue;
      },
    });
  });
  after(async () => {
    await host.close();
  });

  it('serves a route with its parameters', async () => {
    const response = await fetch(`${host.url}/api/items/a%40b/parts/2?q=x`, {
      method: 'POST',
      headers: { 'x-test': 'yes' },
      body: 'hello',
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      method: 'POST',
      params: { id: 'a@b', part: '2' },
      query: 'x',
      body: 'hello',
      header: 'yes',
    });
  });

  it('serves an optional parameter left out', async () => {
    const response = await fetch(`${host.url}/api/items/7/parts`);
    const body = (await response.json()) as { params: Record<string, string> };
    assert.deepEqual(body.params, { id: '7' });
  });

  it('answers 404 for an unknown route', async () => {
    assert.equal((await fetch(`${host.url}/api/nothing`)).status, 404);
    assert.equal((await fetch(`${host.url}/items/7/parts`)).status, 404);
  });

  it('answers 405 with Allow for another method', async () => {
    const response = await fetch(`${host.url}/api/items/7/parts`, { method: 'DELETE' });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get('allow'), 'GET, POST');
  });

  it('answers HEAD without a body where listed', async () => {
    const response = await fetch(`${host.url}/api/page`, { method: 'HEAD' });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('content-type'), 'text/plain');
    assert.equal(await response.text(), '');
  });

  it('answers 405 for HEAD where not listed', async () => {
    const response = await fetch(`${host.url}/api/items/7/parts`, { method: 'HEAD' });
    assert.equal(response.status, 405);
  });

  it('answers 413 past the body limit', async () => {
    const response = await fetch(`${host.url}/api/items/7/parts`, {
      method: 'POST',
      body: 'x'.repeat(17),
    });
    assert.equal(response.status, 413);
  });

  it('answers 404 for bad percent-encoding', async () => {
    const response = await fetch(`${host.url}/api/items/%E0%A4%A/parts`);
    assert.equal(response.status, 404);
  });

  it('answers 500 and logs when a handler throws', async () => {
    const response = await fetch(`${host.url}/api/fail`);
    assert.equal(response.status, 500);
    assert.doesNotMatch(await response.text(), /handler broke/);
    assert.ok(
      logger.lines.some((line) => line.level === 'error' && line.fields?.function === 'fail'),
    );
  });

  it('delivers queued jobs to the consumer', async () => {
    const job = {
      kind: 'catch-up',
      mailbox: 'a@contoso.com',
      reason: 'timer',
      enqueuedAt: new Date(0).toISOString(),
    } as const;
    await queue.send([job]);
    await queue.whenIdle();
    assert.deepEqual(consumed, [{ message: job, deliveryCount: 1 }]);
  });

  it('runs timers on their schedule', async () => {
    // Waits for the every-second schedule to fire; the bound only ends a broken run.
    for (let i = 0; i < 50 && timerRuns === 0; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(timerRuns >= 1);
  });
});
