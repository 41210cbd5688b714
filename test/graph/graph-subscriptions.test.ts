import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { ScannerError } from '../../src/shared/errors.js';
import { sampleMime, startGraphFixture, type GraphFixture } from './graph-test-support.js';
import { startWebhookTestServer, type WebhookTestServer } from './webhook-test-server.js';

const HOUR_MS = 3_600_000;

interface ChangeNotification {
  subscriptionId: string;
  changeType: string;
  clientState: string;
  resource: string;
  resourceData: { id: string };
}

interface LifecycleEvent {
  subscriptionId: string;
  lifecycleEvent: string;
}

function changesOf(webhook: WebhookTestServer): ChangeNotification[] {
  return webhook.notifications.flatMap((body) => (body as { value: ChangeNotification[] }).value);
}

describe('GraphClient subscriptions', () => {
  let fixture: GraphFixture;
  let webhook: WebhookTestServer;

  before(async () => {
    fixture = await startGraphFixture();
    webhook = await startWebhookTestServer();
  });
  after(async () => {
    await fixture.close();
    await webhook.close();
  });
  beforeEach(() => {
    webhook.behaviour = 'echo';
    fixture.sim.setValidation({});
    Object.assign(fixture.sim.notificationHooks, {
      duplicateRate: 0,
      dropRate: 0,
      missedOnDrop: false,
      delayMs: 0,
    });
  });

  const create = (mailbox: string, clientState = 'state-secret') =>
    fixture.client.createSubscription({
      mailbox,
      notificationUrl: webhook.notificationUrl,
      lifecycleNotificationUrl: webhook.lifecycleUrl,
      clientState,
      expiration: new Date(Date.now() + 2 * HOUR_MS),
    });

  it('creates, renews, reauthorizes, lists and deletes', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('subscribe@contoso.com');
    const before = webhook.validationTokens.length;
    const subscription = await create(mailbox.mail);
    assert.equal(subscription.changeType, 'created');
    assert.equal(subscription.notificationUrl, webhook.notificationUrl);
    assert.equal(subscription.lifecycleNotificationUrl, webhook.lifecycleUrl);
    assert.equal(webhook.validationTokens.length, before + 2);
    assert.match(webhook.validationTokens.at(-1)!, /^Validation: .+ Request-Id: /);

    const expiry = new Date(Date.now() + 70 * HOUR_MS);
    const renewed = await client.renewSubscription(subscription.id, expiry);
    assert.equal(renewed.expirationDateTime, expiry.toISOString());
    await client.reauthorizeSubscription(subscription.id);
    const listed = await client.listSubscriptions();
    assert.ok(listed.some((entry) => entry.id === subscription.id));

    await client.deleteSubscription(subscription.id);
    assert.ok(!(await client.listSubscriptions()).some((entry) => entry.id === subscription.id));
    await assert.rejects(client.deleteSubscription(subscription.id), { code: 'mailbox-not-found' });
  });

  it('rejects an expiry beyond 4,230 minutes', async () => {
    const mailbox = fixture.sim.addMailbox('too-long@contoso.com');
    await assert.rejects(
      fixture.client.createSubscription({
        mailbox: mailbox.mail,
        notificationUrl: webhook.notificationUrl,
        lifecycleNotificationUrl: webhook.lifecycleUrl,
        clientState: 'x',
        expiration: new Date(Date.now() + 4300 * 60_000),
      }),
      { code: 'mailbox-request-failed' },
    );
  });

  it('fails transiently when validation is not answered in time', async () => {
    const mailbox = fixture.sim.addMailbox('cold-start@contoso.com');
    webhook.behaviour = 'silent';
    fixture.sim.setValidation({ timeoutMs: 300 });
    await assert.rejects(create(mailbox.mail), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'mailbox-unavailable');
      assert.equal(error.transient, true);
      assert.equal(error.fields.graphCode, 'ValidationError');
      return true;
    });
    assert.equal(
      fixture.sim.subscriptions().filter((s) => s.resource.includes(mailbox.mail)).length,
      0,
    );
  });

  it('fails validation answered as HTML or with another token', async () => {
    const mailbox = fixture.sim.addMailbox('bad-validation@contoso.com');
    for (const behaviour of ['html', 'wrong-token'] as const) {
      webhook.behaviour = behaviour;
      await assert.rejects(create(mailbox.mail), { code: 'mailbox-unavailable' }, behaviour);
    }
  });

  it('fails a renewal whose validation fails', async () => {
    const mailbox = fixture.sim.addMailbox('renew-fails@contoso.com');
    const subscription = await create(mailbox.mail);
    webhook.behaviour = 'silent';
    fixture.sim.setValidation({ timeoutMs: 300 });
    await assert.rejects(
      fixture.client.renewSubscription(subscription.id, new Date(Date.now() + 3 * HOUR_MS)),
      { code: 'mailbox-unavailable' },
    );
  });

  it('sends a validation token with markup as is', async () => {
    const mailbox = fixture.sim.addMailbox('markup@contoso.com');
    const token = '<script>alert(1)</script> & "quotes" +plus %25';
    fixture.sim.setValidation({ token });
    await create(mailbox.mail);
    assert.equal(webhook.validationTokens.at(-1), token);
  });

  it('reports an on-premises mailbox when subscribing', async () => {
    const mailbox = fixture.sim.addMailbox('onprem-sub@contoso.com', 'on-premises');
    await assert.rejects(create(mailbox.mail), { code: 'mailbox-on-premises' });
  });

  it('delivers a created notification with the clientState', async () => {
    const { sim } = fixture;
    const mailbox = sim.addMailbox('notify@contoso.com');
    const subscription = await create(mailbox.mail, 'notify-secret');
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    await sim.flushNotifications();
    const mine = changesOf(webhook).filter((n) => n.subscriptionId === subscription.id);
    assert.equal(mine.length, 1);
    assert.equal(mine[0]?.changeType, 'created');
    assert.equal(mine[0]?.clientState, 'notify-secret');
    assert.equal(mine[0]?.resourceData.id, message.id);
    assert.equal(mine[0]?.resource, `Users/${mailbox.id}/Messages/${message.id}`);
  });

  it('duplicates and drops notifications on request', async () => {
    const { sim } = fixture;
    const mailbox = sim.addMailbox('hooks@contoso.com');
    const subscription = await create(mailbox.mail);
    sim.notificationHooks.duplicateRate = 1;
    sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    await sim.flushNotifications();
    sim.notificationHooks.duplicateRate = 0;
    sim.notificationHooks.dropRate = 1;
    sim.deliverMessage(mailbox.mail, { mime: sampleMime(2) });
    await sim.flushNotifications();
    const mine = changesOf(webhook).filter((n) => n.subscriptionId === subscription.id);
    assert.equal(mine.length, 2);
    assert.equal(mine[0]?.resourceData.id, mine[1]?.resourceData.id);
  });

  it('sends only missed for a bulk move, and delta finds the messages', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('bulk@contoso.com');
    const ids = Array.from(
      { length: 30 },
      (_, index) => sim.deliverMessage(mailbox.mail, { mime: sampleMime(index) }).id,
    );
    const junk = await client.syncFolder(mailbox.mail, { wellKnown: 'junkemail' });
    await sim.flushNotifications();
    const subscription = await create(mailbox.mail);
    const notificationsBefore = changesOf(webhook).length;
    sim.moveInBulk(mailbox.mail, ids, 'junkemail');
    await sim.flushNotifications();
    assert.equal(changesOf(webhook).length, notificationsBefore);
    const missed = webhook.lifecycle
      .flatMap(
        (body) =>
          (body as { value: Array<{ subscriptionId: string; lifecycleEvent: string }> }).value,
      )
      .filter((event) => event.subscriptionId === subscription.id);
    assert.deepEqual(
      missed.map((event) => event.lifecycleEvent),
      ['missed'],
    );
    const caughtUp = await client.syncFolder(mailbox.mail, { wellKnown: 'junkemail' }, junk.state);
    assert.equal(caughtUp.changed.length, 30);
  });

  it('delivers lifecycle events and removes the subscription on subscriptionRemoved', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('lifecycle@contoso.com');
    const subscription = await create(mailbox.mail, 'life-secret');
    sim.sendLifecycleEvent(subscription.id, 'reauthorizationRequired');
    sim.sendLifecycleEvent(subscription.id, 'subscriptionRemoved');
    await sim.flushNotifications();
    const events = webhook.lifecycle
      .flatMap(
        (body) =>
          (
            body as {
              value: Array<{ subscriptionId: string; lifecycleEvent: string; clientState: string }>;
            }
          ).value,
      )
      .filter((event) => event.subscriptionId === subscription.id);
    assert.deepEqual(events.map((event) => event.lifecycleEvent).sort(), [
      'reauthorizationRequired',
      'subscriptionRemoved',
    ]);
    assert.ok(events.every((event) => event.clientState === 'life-secret'));
    assert.ok(!(await client.listSubscriptions()).some((entry) => entry.id === subscription.id));
  });

  it('stops notifying after expiry', async () => {
    const { sim, client } = fixture;
    const mailbox = sim.addMailbox('expiry@contoso.com');
    const subscription = await create(mailbox.mail);
    sim.setSubscriptionExpiry(subscription.id, new Date(Date.now() - 1000));
    sim.deliverMessage(mailbox.mail, { mime: sampleMime(1) });
    await sim.flushNotifications();
    assert.equal(changesOf(webhook).filter((n) => n.subscriptionId === subscription.id).length, 0);
    await assert.rejects(
      client.renewSubscription(subscription.id, new Date(Date.now() + HOUR_MS)),
      {
        code: 'mailbox-not-found',
      },
    );
  });

  it('sends missed for each dropped notification when asked', async () => {
    const { sim } = fixture;
    const mailbox = sim.addMailbox('dropped@contoso.com');
    const subscription = await create(mailbox.mail, 'drop-secret');
    Object.assign(sim.notificationHooks, { dropRate: 1, missedOnDrop: true });
    const message = sim.deliverMessage(mailbox.mail, { mime: sampleMime(2) });
    await sim.flushNotifications();

    assert.equal(changesOf(webhook).filter((n) => n.subscriptionId === subscription.id).length, 0);
    assert.deepEqual(
      sim.droppedNotifications.filter((entry) => entry.subscriptionId === subscription.id),
      [{ subscriptionId: subscription.id, messageId: message.id }],
    );
    const missed = webhook.lifecycle
      .flatMap((body) => (body as { value: LifecycleEvent[] }).value)
      .filter((event) => event.subscriptionId === subscription.id);
    assert.deepEqual(
      missed.map((event) => event.lifecycleEvent),
      ['missed'],
    );
  });

  it('resolves a user id by address', async () => {
    const { sim, client } = fixture;
    const cloud = sim.addMailbox('resolve@contoso.com');
    const onPremises = sim.addMailbox('resolve-onprem@contoso.com', 'on-premises');

    assert.equal(await client.resolveUserId('Resolve@contoso.com'), cloud.id);
    // The directory knows a hybrid user even though its mailbox is not reachable over REST.
    assert.equal(await client.resolveUserId(onPremises.mail), onPremises.id);
    const unknown = await client
      .resolveUserId('nobody@contoso.com')
      .catch((error: unknown) => error);
    assert.ok(unknown instanceof ScannerError);
    assert.equal(unknown.code, 'mailbox-request-failed');
    assert.equal(unknown.transient, false);
  });
});
