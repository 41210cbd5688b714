import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { before, describe, it } from 'node:test';

import type { ApiRequest } from '../../src/functions-host/registry.js';
import { NotificationClock } from '../../src/realtime/notification-clock.js';
import { handleGraphNotifications } from '../../src/realtime/notification-endpoint.js';
import type { RealtimeServices } from '../../src/realtime/services.js';
import {
  hashClientState,
  SubscriptionCache,
  SubscriptionStore,
} from '../../src/realtime/subscription-store.js';
import {
  createTestContext,
  createTestServices,
  RecordingQueue,
} from '../helpers/realtime-fixture.js';

const MAILBOX = 'alice@contoso.com';
const OTHER_USER_ID = '11111111-2222-3333-4444-555555555555';

function post(body: unknown): ApiRequest {
  return {
    method: 'POST',
    url: new URL('http://127.0.0.1/api/graph/notifications'),
    headers: new Headers({ 'content-type': 'application/json' }),
    params: {},
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  };
}

interface Setup {
  services: RealtimeServices;
  queue: RecordingQueue;
  subscriptionId: string;
  clientState: string;
  userId: string;
}

async function setUp(): Promise<Setup> {
  const queue = new RecordingQueue();
  const { services } = await createTestServices({ queue });
  const subscriptionId = randomUUID();
  const clientState = randomUUID();
  const userId = randomUUID();
  await services.mailboxes.add(MAILBOX, {}, new Date());
  await services.subscriptions.put({
    subscriptionId,
    mailbox: MAILBOX,
    userId,
    clientStateHash: hashClientState(clientState),
    expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    createdAt: new Date().toISOString(),
  });
  return { services, queue, subscriptionId, clientState, userId };
}

function notification(setup: Setup, messageId: string, changes: Record<string, unknown> = {}) {
  return {
    subscriptionId: setup.subscriptionId,
    clientState: setup.clientState,
    changeType: 'created',
    resource: `Users/${setup.userId}/Messages/${messageId}`,
    resourceData: { '@odata.type': '#Microsoft.Graph.Message', id: messageId },
    tenantId: randomUUID(),
    ...changes,
  };
}

async function call(setup: Setup, body: unknown) {
  const context = createTestContext();
  const response = await handleGraphNotifications(
    post(body),
    context,
    async () => setup.services,
    new NotificationClock(),
  );
  return { response, context };
}

describe('handleGraphNotifications', () => {
  let setup: Setup;
  before(async () => {
    setup = await setUp();
  });

  it('enqueues one scan job per notification', async () => {
    const before = setup.queue.jobs.length;
    const { response } = await call(setup, {
      value: [notification(setup, 'AAMkAG1='), notification(setup, 'AAMkAG2=')],
    });
    assert.equal(response.status, 202);
    const jobs = setup.queue.jobs.slice(before);
    assert.deepEqual(
      jobs.map((job) => (job.kind === 'scan-message' ? job.messageId : '')),
      ['AAMkAG1=', 'AAMkAG2='],
    );
    assert.equal(jobs[0]?.mailbox, MAILBOX);
    assert.equal(jobs[0]?.kind === 'scan-message' && jobs[0].trigger, 'arrival');
  });

  it('enqueues a duplicate within a request once', async () => {
    const before = setup.queue.jobs.length;
    const item = notification(setup, 'AAMkDup=');
    await call(setup, { value: [item, item] });
    assert.equal(setup.queue.jobs.length - before, 1);
  });

  it('records the time of the last notification', async () => {
    await call(setup, { value: [notification(setup, 'AAMkTime=')] });
    const record = await setup.services.mailboxes.get(MAILBOX);
    assert.ok(record?.lastNotificationAt !== undefined);
  });

  const badBodies: [string, unknown][] = [
    ['malformed JSON', '{"value": ['],
    ['a body without value', { items: [] }],
    ['an empty value array', { value: [] }],
    ['a non-object body', '"text"'],
  ];
  for (const [name, body] of badBodies) {
    it(`rejects ${name} with 400`, async () => {
      const sends = setup.queue.sends;
      const { response, context } = await call(setup, body);
      assert.equal(response.status, 400);
      assert.equal(setup.queue.sends, sends);
      assert.ok(context.lines.some((line) => line.level === 'warn'));
    });
  }

  const dropped: [string, (s: Setup) => Record<string, unknown>, string][] = [
    [
      'a wrong clientState',
      (s) => notification(s, 'AAMkX=', { clientState: 'guess' }),
      'client-state-mismatch',
    ],
    [
      'a missing clientState',
      (s) => notification(s, 'AAMkX=', { clientState: undefined }),
      'client-state-missing',
    ],
    [
      'an unknown subscription',
      (s) => notification(s, 'AAMkX=', { subscriptionId: randomUUID() }),
      'unknown-subscription',
    ],
    [
      'another user in the resource',
      (s) => notification(s, 'AAMkX=', { resource: `Users/${OTHER_USER_ID}/Messages/AAMkX=` }),
      'resource-mismatch',
    ],
    [
      'another address in the resource',
      (s) => notification(s, 'AAMkX=', { resource: 'Users/mallory@contoso.com/Messages/AAMkX=' }),
      'resource-mismatch',
    ],
    [
      'a resource that is not a message',
      (s) => notification(s, 'AAMkX=', { resource: `Users/${s.userId}/Events/AAMkX=` }),
      'resource-mismatch',
    ],
    [
      'resource data naming another message',
      (s) => notification(s, 'AAMkX=', { resourceData: { id: 'AAMkY=' } }),
      'resource-mismatch',
    ],
    [
      'an updated change',
      (s) => notification(s, 'AAMkX=', { changeType: 'updated' }),
      'unexpected-change-type',
    ],
    ['a malformed item', () => ({ subscriptionId: 42 }), 'malformed'],
  ];
  for (const [name, build, reason] of dropped) {
    it(`drops ${name} and logs it`, async () => {
      const sends = setup.queue.sends;
      const { response, context } = await call(setup, { value: [build(setup)] });
      assert.equal(response.status, 202);
      assert.equal(setup.queue.sends, sends);
      const line = context.lines.find((entry) => entry.message === 'Graph notifications dropped');
      assert.equal(line?.level, 'warn');
      assert.equal(line?.fields?.reason, reason);
      assert.doesNotMatch(JSON.stringify(context.lines), new RegExp(setup.clientState));
    });
  }

  it('keeps valid items of a mixed request', async () => {
    const before = setup.queue.jobs.length;
    const { response } = await call(setup, {
      value: [
        notification(setup, 'AAMkGood='),
        notification(setup, 'AAMkBad=', { clientState: 'x' }),
      ],
    });
    assert.equal(response.status, 202);
    assert.equal(setup.queue.jobs.length - before, 1);
  });

  it('answers 503 when the queue fails', async () => {
    setup.queue.failing = true;
    try {
      const { response, context } = await call(setup, { value: [notification(setup, 'AAMkQ=')] });
      assert.equal(response.status, 503);
      assert.ok(context.lines.some((line) => line.level === 'error'));
    } finally {
      setup.queue.failing = false;
    }
  });

  it('answers a validation request without services', async () => {
    const request = post('');
    request.url.searchParams.set('validationToken', 'Validation: abc');
    const response = await handleGraphNotifications(
      request,
      createTestContext(),
      () => Promise.reject(new Error('no storage must be touched')),
      new NotificationClock(),
    );
    assert.equal(response.status, 200);
    assert.equal(response.body, 'Validation: abc');
  });

  it('reads a subscription once for a 100-item batch', async () => {
    let reads = 0;
    const store = setup.services.subscriptions;
    const counting = Object.create(store) as SubscriptionStore;
    counting.get = async (id: string) => {
      reads += 1;
      return store.get(id);
    };
    const services = { ...setup.services, subscriptionCache: new SubscriptionCache(counting) };
    const items = Array.from({ length: 100 }, (_, i) => notification(setup, `AAMkBatch${i}=`));
    const before = setup.queue.jobs.length;
    const response = await handleGraphNotifications(
      post({ value: items }),
      createTestContext(),
      async () => services,
      new NotificationClock(),
    );
    assert.equal(response.status, 202);
    assert.equal(reads, 1);
    assert.equal(setup.queue.jobs.length - before, 100);
  });
});

describe('handleGraphNotifications without a stored user id', () => {
  it('pins the first object id and rejects another', async () => {
    const setup = await setUp();
    await setup.services.subscriptions.put({
      ...(await setup.services.subscriptions.get(setup.subscriptionId))!,
      userId: undefined,
    });
    const first = randomUUID();
    const pinned = await call(setup, {
      value: [notification(setup, 'AAMk1=', { resource: `Users/${first}/Messages/AAMk1=` })],
    });
    assert.equal(pinned.response.status, 202);
    assert.equal(setup.queue.jobs.length, 1);
    assert.equal((await setup.services.subscriptions.get(setup.subscriptionId))?.userId, first);

    const other = await call(setup, {
      value: [
        notification(setup, 'AAMk2=', { resource: `Users/${OTHER_USER_ID}/Messages/AAMk2=` }),
      ],
    });
    assert.equal(other.response.status, 202);
    assert.equal(setup.queue.jobs.length, 1);
  });
});

describe('handleGraphNotifications pinning within one request', () => {
  it('rejects a second object id in the same batch', async () => {
    const setup = await setUp();
    const stored = await setup.services.subscriptions.get(setup.subscriptionId);
    assert.ok(stored);
    await setup.services.subscriptions.put({ ...stored, userId: undefined });
    const first = randomUUID();
    const { response } = await call(setup, {
      value: [
        notification(setup, 'AAMk1=', { resource: `Users/${first}/Messages/AAMk1=` }),
        notification(setup, 'AAMk2=', { resource: `Users/${OTHER_USER_ID}/Messages/AAMk2=` }),
      ],
    });
    assert.equal(response.status, 202);
    assert.deepEqual(
      setup.queue.jobs.map((job) => (job.kind === 'scan-message' ? job.messageId : '')),
      ['AAMk1='],
    );
  });
});
