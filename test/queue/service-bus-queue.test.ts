import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { ServiceBusMessage } from '@azure/service-bus';

import type { Job } from '../../src/queue/jobs.js';
import {
  createServiceBusJobQueue,
  sendInBatches,
  toServiceBusMessage,
} from '../../src/queue/service-bus-queue.js';
import { ScannerError } from '../../src/shared/errors.js';

const scanJob = (messageId: string): Job => ({
  kind: 'scan-message',
  mailbox: 'a@contoso.com',
  messageId,
  trigger: 'arrival',
  enqueuedAt: new Date(0).toISOString(),
});

describe('toServiceBusMessage', () => {
  it('gives duplicate scan jobs one message id', () => {
    const first = toServiceBusMessage(scanJob('AAMk1'));
    const second = toServiceBusMessage({
      ...scanJob('AAMk1'),
      enqueuedAt: new Date(1).toISOString(),
    });
    assert.equal(first.messageId, second.messageId);
    assert.notEqual(first.messageId, toServiceBusMessage(scanJob('AAMk2')).messageId);
    assert.equal(first.contentType, 'application/json');
    assert.equal(first.subject, 'scan-message');
  });

  it('leaves catch-up jobs without a message id', () => {
    const message = toServiceBusMessage({
      kind: 'catch-up',
      mailbox: 'a@contoso.com',
      reason: 'missed',
      enqueuedAt: new Date(0).toISOString(),
    });
    assert.equal(message.messageId, undefined);
  });
});

describe('createServiceBusJobQueue', () => {
  it('rejects a missing namespace', () => {
    assert.throws(
      () => createServiceBusJobQueue({ queueName: 'mailsweep-scan' }),
      (error: unknown) => error instanceof ScannerError && error.code === 'config-invalid',
    );
  });
});

/** A sender whose batches hold at most `capacity` messages, recording each batch sent. */
function createFakeSender(capacity: number) {
  const sent: ServiceBusMessage[][] = [];
  const sender = {
    async createMessageBatch() {
      const messages: ServiceBusMessage[] = [];
      return {
        get count() {
          return messages.length;
        },
        tryAddMessage(message: ServiceBusMessage) {
          if (messages.length >= capacity) return false;
          messages.push(message);
          return true;
        },
        messages,
      };
    },
    async sendMessages(batch: { messages: ServiceBusMessage[] }) {
      sent.push([...batch.messages]);
    },
  };
  return { sender: sender as unknown as Parameters<typeof sendInBatches>[0], sent };
}

describe('sendInBatches', () => {
  it('splits messages into full batches', async () => {
    const { sender, sent } = createFakeSender(3);
    const messages = Array.from({ length: 7 }, (_, i) => toServiceBusMessage(scanJob(`AAMk${i}`)));
    await sendInBatches(sender, messages);
    assert.deepEqual(
      sent.map((batch) => batch.length),
      [3, 3, 1],
    );
    assert.deepEqual(sent.flat(), messages);
  });

  it('rejects a message too large for any batch', async () => {
    const { sender, sent } = createFakeSender(0);
    await assert.rejects(
      sendInBatches(sender, [toServiceBusMessage(scanJob('AAMk1'))]),
      /larger than the largest Service Bus message/,
    );
    assert.equal(sent.length, 0);
  });
});
