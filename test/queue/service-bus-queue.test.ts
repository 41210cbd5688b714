import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Job } from '../../src/queue/jobs.js';
import {
  createServiceBusJobQueue,
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
