import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { EwsPushClient } from '../../src/ews/ews-push.js';
import {
  buildSendNotificationResult,
  InvalidNotificationError,
  latestWatermark,
  readSendNotification,
  type PushNotification,
} from '../../src/ews/ews-notification.js';
import { expectSuccess } from '../../src/ews/ews-shapes.js';
import { ScannerError } from '../../src/shared/errors.js';
import type { EwsSimulator } from '../ews-simulator/ews-simulator.js';
import { clientFor, sampleMime, startSimulator } from './ews-test-support.js';

/** A callback server that parses each SendNotification and responds with `reply`. */
class CallbackServer {
  readonly received: PushNotification[] = [];
  reply: 'OK' | 'Unsubscribe' | 500 = 'OK';
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push(readSendNotification(Buffer.concat(chunks).toString('utf8')));
        if (this.reply === 500) {
          response.writeHead(500).end();
          return;
        }
        response.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' });
        response.end(buildSendNotificationResult(this.reply));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const { port } = this.server!.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}/api/ews/notifications?id=x`;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

describe('EWS push subscriptions against the simulator', () => {
  // One StatusFrequency minute lasts 40 ms here, so keep-alives and retries come quickly.
  const MINUTE_MS = 40;
  let sim: EwsSimulator;
  let callback: CallbackServer;
  let push: EwsPushClient;

  before(async () => {
    sim = await startSimulator({ push: { minuteMs: MINUTE_MS } });
    callback = new CallbackServer();
    await callback.start();
    push = new EwsPushClient(clientFor(sim).soapTransport);
  });

  after(async () => {
    await sim.close();
    await callback.close();
  });

  it('subscribes the inbox and junk folder under impersonation', async () => {
    sim.addMailbox('adele@contoso.com');
    const created = await push.subscribe({
      mailbox: 'adele@contoso.com',
      folders: [{ wellKnown: 'inbox' }, { wellKnown: 'junkemail' }],
      url: callback.url,
      statusFrequencyMinutes: 30,
    });
    assert.ok(created.subscriptionId.length > 0);
    assert.ok(created.watermark);
    const entry = sim.requestLog.at(-1)!;
    assert.equal(entry.operation, 'Subscribe');
    assert.equal(entry.mailbox, 'adele@contoso.com');
    assert.equal(entry.anchorMailbox, 'adele@contoso.com');
    const subscription = sim.push.subscriptions().find((s) => s.id === created.subscriptionId)!;
    assert.equal(subscription.folderIds.size, 2);
    assert.deepEqual([...subscription.eventTypes].sort(), ['CreatedEvent', 'NewMailEvent']);
    assert.equal(subscription.statusFrequencyMinutes, 30);
    assert.equal(subscription.url, callback.url);
  });

  it('pushes a delivered message as one SendNotification', async () => {
    sim.addMailbox('ben@contoso.com');
    const created = await push.subscribe({
      mailbox: 'ben@contoso.com',
      folders: [{ wellKnown: 'inbox' }],
      url: callback.url,
      statusFrequencyMinutes: 30,
    });
    const before = callback.received.length;
    const item = sim.deliverMessage('ben@contoso.com', { mime: sampleMime('push one') });
    await sim.push.whenIdle();

    const received = callback.received.slice(before);
    assert.equal(received.length, 1);
    const notification = received[0]!;
    assert.equal(notification.subscriptionId, created.subscriptionId);
    assert.equal(notification.previousWatermark, created.watermark);
    assert.deepEqual(notification.events.map((event) => event.type).sort(), [
      'CreatedEvent',
      'NewMailEvent',
    ]);
    for (const event of notification.events) {
      assert.equal(event.itemId, item.id);
      assert.equal(event.parentFolderId, item.folderId);
    }
    // The newest event's watermark is kept; events of one notification may differ in time.
    const newest = Math.max(...notification.events.map((event) => Date.parse(event.timeStamp ?? '')));
    const kept = notification.events.find((event) => event.watermark === latestWatermark(notification.events));
    assert.equal(Date.parse(kept?.timeStamp ?? ''), newest);
  });

  it('does not push items of folders it does not watch', async () => {
    sim.addMailbox('cleo@contoso.com');
    await push.subscribe({
      mailbox: 'cleo@contoso.com',
      folders: [{ wellKnown: 'inbox' }],
      url: callback.url,
      statusFrequencyMinutes: 30,
    });
    const deliveries = sim.push.deliveries.length;
    sim.deliverMessage('cleo@contoso.com', { mime: sampleMime('sent'), folder: 'sentitems' });
    await sim.push.whenIdle();
    assert.equal(sim.push.deliveries.length, deliveries);
  });

  it('sends a StatusEvent keep-alive after StatusFrequency', async () => {
    sim.addMailbox('dana@contoso.com');
    const created = await push.subscribe({
      mailbox: 'dana@contoso.com',
      folders: [{ wellKnown: 'inbox' }],
      url: callback.url,
      statusFrequencyMinutes: 1,
    });
    const statusEvent = await waitFor(() =>
      callback.received.find(
        (n) => n.subscriptionId === created.subscriptionId && n.events[0]?.type === 'StatusEvent',
      ),
    );
    assert.equal(statusEvent.events.length, 1);
    assert.equal(statusEvent.events[0]!.itemId, undefined);
  });

  it('retries failed deliveries, then drops', async () => {
    sim.addMailbox('eli@contoso.com');
    callback.reply = 500;
    try {
      const created = await push.subscribe({
        mailbox: 'eli@contoso.com',
        folders: [{ wellKnown: 'inbox' }],
        url: callback.url,
        statusFrequencyMinutes: 2,
      });
      sim.deliverMessage('eli@contoso.com', { mime: sampleMime('lost') });
      await sim.push.whenIdle();
      const subscription = sim.push.subscriptions().find((s) => s.id === created.subscriptionId)!;
      assert.equal(subscription.state, 'failed');
      const tries = sim.push.deliveries.filter((d) => d.subscriptionId === created.subscriptionId);
      // Retries 30, 60 and 120 seconds after the first failure fit in 2 minutes; 240 does not.
      assert.deepEqual(
        tries.map((d) => d.retry),
        [0, 1, 2, 3],
      );
      assert.ok(tries.every((d) => d.status === 500));
      const gaps = tries.slice(1).map((d) => d.atMs - tries[0]!.atMs);
      for (let index = 1; index < gaps.length; index += 1) {
        // A busy host can fire a late retry and the next one together, so only order is checked.
        assert.ok(gaps[index]! >= gaps[index - 1]!, `retry offsets grow: ${gaps.join(', ')}`);
      }
    } finally {
      callback.reply = 'OK';
    }
  });

  it('ends a subscription answered with Unsubscribe', async () => {
    sim.addMailbox('fay@contoso.com');
    callback.reply = 'Unsubscribe';
    let id: string;
    try {
      id = (
        await push.subscribe({
          mailbox: 'fay@contoso.com',
          folders: [{ wellKnown: 'inbox' }],
          url: callback.url,
          statusFrequencyMinutes: 30,
        })
      ).subscriptionId;
      sim.deliverMessage('fay@contoso.com', { mime: sampleMime('first') });
      await sim.push.whenIdle();
    } finally {
      callback.reply = 'OK';
    }
    const subscription = sim.push.subscriptions().find((s) => s.id === id)!;
    assert.equal(subscription.state, 'unsubscribed');
    const count = sim.push.deliveries.filter((d) => d.subscriptionId === id).length;
    sim.deliverMessage('fay@contoso.com', { mime: sampleMime('second') });
    await sim.push.whenIdle();
    assert.equal(sim.push.deliveries.filter((d) => d.subscriptionId === id).length, count);
  });

  it('rejects Unsubscribe for a push subscription', async () => {
    sim.addMailbox('gus@contoso.com');
    const { subscriptionId } = await push.subscribe({
      mailbox: 'gus@contoso.com',
      folders: [{ wellKnown: 'inbox' }],
      url: callback.url,
      statusFrequencyMinutes: 30,
    });
    const transport = clientFor(sim).soapTransport;
    const result = await transport.call({
      operation: 'unsubscribe',
      mailbox: 'gus@contoso.com',
      body: { 'm:Unsubscribe': { 'm:SubscriptionId': subscriptionId } },
    });
    assert.throws(
      () => expectSuccess(result.messages, 'unsubscribe'),
      (error: unknown) =>
        error instanceof ScannerError && error.fields.ewsCode === 'ErrorInvalidSubscription',
    );
  });

  it('rejects an out-of-range StatusFrequency', async () => {
    const requests = sim.requestLog.length;
    await assert.rejects(
      push.subscribe({
        mailbox: 'adele@contoso.com',
        folders: [{ wellKnown: 'inbox' }],
        url: callback.url,
        statusFrequencyMinutes: 1441,
      }),
      (error: unknown) => error instanceof ScannerError && error.code === 'config-invalid',
    );
    assert.equal(sim.requestLog.length, requests);
  });

  it('reports a mailbox the server does not have', async () => {
    await assert.rejects(
      push.subscribe({
        mailbox: 'nobody@contoso.com',
        folders: [{ wellKnown: 'inbox' }],
        url: callback.url,
        statusFrequencyMinutes: 5,
      }),
      (error: unknown) =>
        error instanceof ScannerError && error.fields.ewsCode === 'ErrorNonExistentMailbox',
    );
  });
});

describe('readSendNotification', () => {
  const envelope = (inner: string) =>
    '<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" ' +
    'xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" ' +
    'xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><soap:Body>' +
    `<m:SendNotification><m:ResponseMessages>${inner}</m:ResponseMessages></m:SendNotification></soap:Body></soap:Envelope>`;
  const message = (id: string, events: string, responseClass = 'Success') =>
    `<m:SendNotificationResponseMessage ResponseClass="${responseClass}"><m:ResponseCode>NoError</m:ResponseCode>` +
    `<m:Notification><t:SubscriptionId>${id}</t:SubscriptionId><t:PreviousWatermark>AQ==</t:PreviousWatermark>` +
    `<t:MoreEvents>false</t:MoreEvents>${events}</m:Notification></m:SendNotificationResponseMessage>`;

  it('reads events of several types', () => {
    const parsed = readSendNotification(
      envelope(
        message(
          'sub-1',
          '<t:CreatedEvent><t:Watermark>W1</t:Watermark><t:TimeStamp>2026-12-04T10:00:00Z</t:TimeStamp>' +
            '<t:ItemId Id="item-1" ChangeKey="k"/><t:ParentFolderId Id="f-1" ChangeKey="k"/></t:CreatedEvent>' +
            '<t:CreatedEvent><t:Watermark>W3</t:Watermark><t:TimeStamp>2026-12-04T10:00:02Z</t:TimeStamp>' +
            '<t:FolderId Id="folder-9" ChangeKey="k"/><t:ParentFolderId Id="f-1" ChangeKey="k"/></t:CreatedEvent>' +
            '<t:NewMailEvent><t:Watermark>W2</t:Watermark><t:TimeStamp>2026-12-04T10:00:01Z</t:TimeStamp>' +
            '<t:ItemId Id="item-1" ChangeKey="k"/><t:ParentFolderId Id="f-1" ChangeKey="k"/></t:NewMailEvent>',
        ),
      ),
    );
    assert.equal(parsed.subscriptionId, 'sub-1');
    assert.equal(parsed.events.length, 3);
    const folderEvent = parsed.events.find((event) => event.folderId === 'folder-9');
    assert.equal(folderEvent?.itemId, undefined);
    assert.equal(latestWatermark(parsed.events), 'W3');
    assert.deepEqual(parsed.errorCodes, []);
  });

  it('lists response messages that are not Success', () => {
    const parsed = readSendNotification(
      envelope(message('sub-1', '<t:StatusEvent><t:Watermark>W</t:Watermark></t:StatusEvent>', 'Error')),
    );
    assert.deepEqual(parsed.errorCodes, ['NoError']);
  });

  const invalid: Array<[string, string]> = [
    ['truncated XML', envelope(message('sub-1', '')).slice(0, 200)],
    ['a DOCTYPE', `<!DOCTYPE x [<!ENTITY a "b">]>${envelope(message('sub-1', ''))}`],
    ['another operation', envelope('').replace(/SendNotification/g, 'GetEvents')],
    ['no response message', envelope('')],
    ['two subscriptions', envelope(message('sub-1', '') + message('sub-2', ''))],
    ['no subscription id', envelope(message('', ''))],
    [
      'an invalid time stamp',
      envelope(
        message(
          'sub-1',
          '<t:NewMailEvent><t:Watermark>W</t:Watermark><t:TimeStamp>yesterday</t:TimeStamp>' +
            '<t:ItemId Id="i" ChangeKey="k"/></t:NewMailEvent>',
        ),
      ),
    ],
    ['an overlong item id', envelope(message('sub-1', `<t:NewMailEvent><t:ItemId Id="${'a'.repeat(2000)}"/></t:NewMailEvent>`))],
  ];
  for (const [label, body] of invalid) {
    it(`rejects ${label}`, () => {
      assert.throws(() => readSendNotification(body), InvalidNotificationError);
    });
  }
});

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
