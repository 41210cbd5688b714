import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { handleEwsNotification } from '../../src/realtime/ews-notification-endpoint.js';
import type { EwsPushServices } from '../../src/realtime/ews-push-services.js';
import { startLocalHost } from '../../src/functions-host/local-host.js';
import { registeredFunctions } from '../../src/functions-host/registry.js';
import { overrideEwsPushServices } from '../../src/realtime/ews-push-services.js';
import { InProcessQueue } from '../../src/queue/in-process-queue.js';
import { createRecordingLogger } from '../quarantine/azurite-test-support.js';
import { createTestContext, RecordingQueue } from '../helpers/realtime-fixture.js';
import {
  createEwsTestServices,
  newMailEvents,
  notificationRequest,
  ONPREM_MAILBOX,
  rawRequest,
  storeSubscription,
} from './ews-push-fixture.js';

function statusOf(body: string | Buffer | undefined): string | undefined {
  return /<SubscriptionStatus>([^<]*)<\/SubscriptionStatus>/.exec(String(body))?.[1];
}

describe('POST /api/ews/notifications', () => {
  it('queues one job per new item', async () => {
    const { services, queue } = await createEwsTestServices();
    const { record, secret } = await storeSubscription(services);
    const events = [
      ...newMailEvents('item-1', 'W1', '2026-12-04T10:00:00Z'),
      ...newMailEvents('item-2', 'W2', '2026-12-04T10:00:01Z'),
    ];

    const response = await handleEwsNotification(
      notificationRequest(record, secret, events),
      createTestContext(),
      async () => services,
    );

    assert.equal(response.status, 200);
    assert.equal(statusOf(response.body), 'OK');
    const recording = queue as RecordingQueue;
    assert.equal(recording.sends, 1);
    assert.deepEqual(
      recording.jobs.map((job) => (job.kind === 'scan-message' ? job.messageId : job.kind)),
      ['item-1', 'item-2'],
    );
    for (const job of recording.jobs) {
      assert.equal(job.mailbox, ONPREM_MAILBOX);
      assert.equal(job.kind === 'scan-message' && job.trigger, 'arrival');
    }
    const stored = await services.subscriptions.get(record.callbackId);
    assert.notEqual(stored?.lastSeenAt, record.lastSeenAt);
    // Both events of item-2 have the newest time stamp; either watermark is the newest.
    assert.ok(['W2', 'W2c'].includes(stored?.watermark ?? ''), stored?.watermark);
  });

  it('records a StatusEvent keep-alive without queueing', async () => {
    const { services, queue } = await createEwsTestServices();
    const { record, secret } = await storeSubscription(services);
    const response = await handleEwsNotification(
      notificationRequest(record, secret, [
        { type: 'StatusEvent', watermark: 'W9', timeStamp: '' },
      ]),
      createTestContext(),
      async () => services,
    );
    assert.equal(statusOf(response.body), 'OK');
    assert.equal((queue as RecordingQueue).sends, 0);
    const stored = await services.subscriptions.get(record.callbackId);
    assert.notEqual(stored?.lastSeenAt, record.lastSeenAt);
    assert.equal(stored?.watermark, 'W9');
  });

  it('answers Unsubscribe for an unknown subscription', async () => {
    const { services, queue } = await createEwsTestServices();
    const response = await handleEwsNotification(
      notificationRequest({ callbackId: 'a'.repeat(32) }, 'whatever', newMailEvents('item-1')),
      createTestContext(),
      async () => services,
    );
    assert.equal(response.status, 200);
    assert.equal(statusOf(response.body), 'Unsubscribe');
    assert.equal((queue as RecordingQueue).sends, 0);
  });

  it('answers Unsubscribe for a malformed callback id', async () => {
    const { services } = await createEwsTestServices();
    const response = await handleEwsNotification(
      notificationRequest({ callbackId: "x' or PartitionKey ne '" }, 's', newMailEvents('i')),
      createTestContext(),
      async () => services,
    );
    assert.equal(statusOf(response.body), 'Unsubscribe');
  });

  it('rejects a wrong secret', async () => {
    const { services, queue } = await createEwsTestServices();
    const { record, secret } = await storeSubscription(services);
    const context = createTestContext();
    const response = await handleEwsNotification(
      notificationRequest(record, withLastCharacterChanged(secret), newMailEvents('item-1')),
      context,
      async () => services,
    );
    assert.equal(response.status, 401);
    assert.equal((queue as RecordingQueue).sends, 0);
    const stored = await services.subscriptions.get(record.callbackId);
    assert.equal(stored?.lastSeenAt, record.lastSeenAt);
    assert.ok(!JSON.stringify(context.lines).includes(secret));
  });

  it('unsubscribes a mailbox no longer on premises', async () => {
    const { services, queue } = await createEwsTestServices();
    const { record, secret } = await storeSubscription(services, {
      mailbox: 'moved@contoso.com',
    });
    const response = await handleEwsNotification(
      notificationRequest(record, secret, newMailEvents('item-1')),
      createTestContext(),
      async () => services,
    );
    assert.equal(statusOf(response.body), 'Unsubscribe');
    assert.equal((queue as RecordingQueue).sends, 0);
    assert.equal(await services.subscriptions.get(record.callbackId), undefined);
  });

  it('answers Unsubscribe for a replaced subscription id', async () => {
    const { services } = await createEwsTestServices();
    const { record, secret } = await storeSubscription(services);
    const response = await handleEwsNotification(
      notificationRequest({ ...record, subscriptionId: 'sub-older' }, secret, newMailEvents('i')),
      createTestContext(),
      async () => services,
    );
    assert.equal(statusOf(response.body), 'Unsubscribe');
    assert.ok(await services.subscriptions.get(record.callbackId));
  });

  it('accepts notifications before Subscribe returns', async () => {
    const { services, queue } = await createEwsTestServices();
    const { record, secret } = await storeSubscription(services, { subscriptionId: undefined });
    const response = await handleEwsNotification(
      notificationRequest({ ...record, subscriptionId: 'sub-new' }, secret, newMailEvents('i')),
      createTestContext(),
      async () => services,
    );
    assert.equal(statusOf(response.body), 'OK');
    assert.equal((queue as RecordingQueue).jobs.length, 1);
  });

  it('queues a catch-up for an error message', async () => {
    const { services, queue } = await createEwsTestServices();
    const { record, secret } = await storeSubscription(services);
    const request = notificationRequest(record, secret, newMailEvents('item-1'));
    request.body = Buffer.from(
      request.body
        .toString('utf8')
        .replace('ResponseClass="Success"', 'ResponseClass="Error"')
        .replace('>NoError<', '>ErrorMissedNotificationEvents<'),
    );
    const response = await handleEwsNotification(
      request,
      createTestContext(),
      async () => services,
    );
    assert.equal(statusOf(response.body), 'OK');
    const kinds = (queue as RecordingQueue).jobs.map((job) => job.kind);
    assert.deepEqual(kinds, ['scan-message', 'catch-up']);
  });

  it('returns 503 when the queue fails', async () => {
    const queue = new RecordingQueue();
    queue.failing = true;
    const { services } = await createEwsTestServices({ queue });
    const { record, secret } = await storeSubscription(services);
    const response = await handleEwsNotification(
      notificationRequest(record, secret, newMailEvents('item-1')),
      createTestContext(),
      async () => services,
    );
    assert.equal(response.status, 503);
    const stored = await services.subscriptions.get(record.callbackId);
    assert.equal(stored?.lastSeenAt, record.lastSeenAt);
  });

  const malformed: Array<[string, string]> = [
    ['an empty body', ''],
    ['HTML', '<html><body>hello</body></html>'],
    ['truncated SOAP', notificationBody().slice(0, 300)],
    ['a DOCTYPE', `<!DOCTYPE x [<!ENTITY e "e">]>${notificationBody()}`],
  ];
  for (const [label, body] of malformed) {
    it(`rejects ${label} with 400 before touching storage`, async () => {
      let loaded = 0;
      const response = await handleEwsNotification(
        rawRequest(new URL('http://127.0.0.1/api/ews/notifications?id=x&key=y'), body),
        createTestContext(),
        async () => {
          loaded += 1;
          throw new Error('storage must not be touched');
        },
      );
      assert.equal(response.status, 400);
      assert.equal(loaded, 0);
    });
  }

  it('rejects an oversized body with 413 at the host', async () => {
    await import('../../functions/index.js');
    let loaded = 0;
    overrideEwsPushServices(
      new Proxy({} as EwsPushServices, {
        get() {
          loaded += 1;
          throw new Error('storage must not be touched');
        },
      }),
    );
    const host = await startLocalHost({
      port: 0,
      logger: createRecordingLogger(),
      functions: registeredFunctions(),
      runTimers: false,
      queueFor: () => new InProcessQueue(),
    });
    try {
      const response = await fetch(`${host.url}/api/ews/notifications?id=x&key=y`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: 'x'.repeat(1024 * 1024 + 1),
      });
      assert.equal(response.status, 413);
      assert.equal(loaded, 0);
    } finally {
      overrideEwsPushServices(undefined);
      await host.close();
    }
  });
});

function notificationBody(): string {
  return String(
    notificationRequest({ callbackId: 'a'.repeat(32) }, 's', newMailEvents('i')).body,
  );
}

/** Returns the secret with its last character replaced by a different one. */
function withLastCharacterChanged(secret: string): string {
  return `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
}
