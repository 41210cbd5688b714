import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InProcessQueue } from '../../src/queue/in-process-queue.js';
import type { Job } from '../../src/queue/jobs.js';

function catchUp(mailbox: string): Job {
  return { kind: 'catch-up', mailbox, reason: 'timer', enqueuedAt: new Date(0).toISOString() };
}

describe('InProcessQueue', () => {
  it('delivers every job within the concurrency bound', async () => {
    const queue = new InProcessQueue({ maxConcurrency: 3 });
    let active = 0;
    let maxActive = 0;
    const seen: string[] = [];
    queue.consume(async (message) => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      await new Promise((resolve) => setImmediate(resolve));
      seen.push((message as Job).mailbox);
      active -= 1;
    });
    await queue.send(Array.from({ length: 20 }, (_, i) => catchUp(`user${i}@contoso.com`)));
    await queue.whenIdle();
    assert.equal(seen.length, 20);
    assert.equal(maxActive, 3);
    assert.deepEqual(await queue.readStats(), { backlog: 0, deadLettered: 0 });
  });

  it('redelivers a failed job with a higher delivery count', async () => {
    const queue = new InProcessQueue({ retryDelayMs: 5 });
    const counts: number[] = [];
    queue.consume(async (_message, delivery) => {
      counts.push(delivery.deliveryCount);
      if (delivery.deliveryCount < 3) throw new Error('transient');
    });
    await queue.send([catchUp('a@contoso.com')]);
    await queue.whenIdle();
    assert.deepEqual(counts, [1, 2, 3]);
    assert.equal(queue.deadLetters().length, 0);
  });

  it('dead-letters after the last delivery with the reason', async () => {
    const queue = new InProcessQueue({ retryDelayMs: 1, maxDeliveryCount: 4 });
    let deliveries = 0;
    queue.consume(async () => {
      deliveries += 1;
      throw new Error('mailbox unavailable');
    });
    await queue.send([catchUp('a@contoso.com')]);
    await queue.whenIdle();
    assert.equal(deliveries, 4);
    const [dead] = queue.deadLetters();
    assert.equal(dead?.reason, 'mailbox unavailable');
    assert.equal(dead?.deliveryCount, 4);
    assert.deepEqual(dead?.body, catchUp('a@contoso.com'));
    assert.deepEqual(await queue.readStats(), { backlog: 0, deadLettered: 1 });
  });

  it('reports the backlog before a consumer attaches', async () => {
    const queue = new InProcessQueue();
    await queue.send([catchUp('a@contoso.com'), catchUp('b@contoso.com')]);
    assert.deepEqual(await queue.readStats(), { backlog: 2, deadLettered: 0 });
  });

  it('gives the consumer a copy, not the sent object', async () => {
    const queue = new InProcessQueue();
    const job = catchUp('a@contoso.com');
    let received: unknown;
    queue.consume(async (message) => {
      received = message;
    });
    await queue.send([job]);
    await queue.whenIdle();
    assert.deepEqual(received, job);
    assert.notEqual(received, job);
  });

  it('rejects sends once closed', async () => {
    const queue = new InProcessQueue();
    queue.close();
    await assert.rejects(queue.send([catchUp('a@contoso.com')]), /closed/);
  });
});
