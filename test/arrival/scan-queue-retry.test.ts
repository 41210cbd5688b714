import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import {
  closeArrivalRuntime,
  handleScanQueueMessage,
  provideArrivalServices,
  retryDelayMs,
} from '../../src/arrival/arrival-runtime.js';
import { loadSettings } from '../../src/config/settings.js';
import type { HandlerContext } from '../../src/functions-host/registry.js';
import { InProcessQueue } from '../../src/queue/in-process-queue.js';
import { buildSamples } from '../../src/samples/samples.js';
import { ScannerError } from '../../src/shared/errors.js';
import { openStateTable, STATE_TABLES } from '../../src/state/tables.js';
import { InMemoryMailbox } from '../helpers/in-memory-mailbox.js';
import { jobFor, uniqueMailbox, verdictsOf } from './arrival-test-support.js';

const context: HandlerContext = { invocationId: 'test', log: () => undefined };
const ENV_KEYS = ['MAILSWEEP_QUEUE_RETRY_DELAY_MS', 'MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT', 'MAILSWEEP_SCAN_WORKERS'];

describe('the scan queue consumer after a transient failure', () => {
  const client = new InMemoryMailbox();
  const queue = new InProcessQueue({ retryDelayMs: 1 });

  before(() => {
    process.env.MAILSWEEP_QUEUE_RETRY_DELAY_MS = '20';
    process.env.MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT = '3';
    process.env.MAILSWEEP_SCAN_WORKERS = '1';
    provideArrivalServices(async () => ({
      client,
      queue,
      auth: { kind: 'local-token', adminToken: 'a'.repeat(32) },
    }));
    queue.consume((message, delivery) => handleScanQueueMessage(message, delivery, context));
  });

  after(async () => {
    queue.close();
    await closeArrivalRuntime();
    for (const key of ENV_KEYS) {
      delete process.env[key];
    }
  });

  it('retries a throttled job later', async () => {
    const samples = await buildSamples();
    const clean = samples.find((sample) => sample.expected.category === 'clean');
    assert.ok(clean);
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, clean.raw, { internetMessageId: '<retry-clean@fabrikam.example>' });
    client.failNext({ method: 'getMessage', error: new ScannerError('mailbox-throttled', 'Too many requests') });

    // The first delivery fails, is sent again as attempt 2 and completes without an error.
    await handleScanQueueMessage(jobFor(mailbox, id), { deliveryCount: 1 }, context);
    await queue.whenIdle();

    const table = await openStateTable({ settings: loadSettings(process.env).state }, STATE_TABLES.verdicts);
    const records = await verdictsOf(table, mailbox);
    assert.equal(records.length, 1);
    assert.equal(records[0]?.category, 'clean');
    assert.deepEqual(queue.deadLetters(), []);
  });

  it('dead-letters after the last try', async () => {
    const mailbox = uniqueMailbox();
    const id = client.deliver(mailbox, Buffer.from('Subject: x\r\n\r\nbody\r\n'), {
      internetMessageId: '<retry-fail@fabrikam.example>',
    });
    for (let count = 0; count < 20; count += 1) {
      client.failNext({ method: 'getMessage', error: new ScannerError('mailbox-throttled', 'Too many requests') });
    }

    await queue.send([jobFor(mailbox, id)]);
    await queue.whenIdle();

    const table = await openStateTable({ settings: loadSettings(process.env).state }, STATE_TABLES.verdicts);
    const records = await verdictsOf(table, mailbox);
    assert.equal(records[0]?.outcome, 'failed');
    assert.equal(records[0]?.errorCode, 'mailbox-throttled');
    assert.equal(queue.deadLetters().length, 1);
  });

  it('doubles the delay up to the maximum', () => {
    const settings = { maxDeliveryCount: 10, retryDelayMs: 1000, maxRetryDelayMs: 5000 };
    const first = retryDelayMs(1, settings);
    assert.ok(first >= 800);
    assert.ok(first <= 1200);
    const second = retryDelayMs(2, settings);
    assert.ok(second >= 1600);
    assert.ok(second <= 2400);
    assert.ok(retryDelayMs(9, settings) <= 6000);
  });
});
