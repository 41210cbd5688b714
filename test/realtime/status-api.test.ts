import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import '../../functions/index.js';
import type { LocalHost } from '../../src/functions-host/local-host.js';
import { InProcessQueue } from '../../src/queue/in-process-queue.js';
import type { Job } from '../../src/queue/jobs.js';
import { overrideRealtimeServices } from '../../src/realtime/provider.js';
import type { RealtimeServices } from '../../src/realtime/services.js';
import { runSubscriptionSync } from '../../src/realtime/subscription-sync.js';
import type { LogLine } from '../quarantine/azurite-test-support.js';
import { createRecordingLogger } from '../quarantine/azurite-test-support.js';
import { InMemoryGraph } from '../helpers/in-memory-graph.js';
import {
  ADMIN_TOKEN,
  createTestServices,
  createTestTables,
  startTestHost,
} from '../helpers/realtime-fixture.js';

interface StatusBody {
  unhealthyMailboxes: number;
  queue: { backlog: number; deadLettered: number };
  mailboxes: {
    mailbox: string;
    state: string;
    subscriptionExpiresAt?: string;
    lastNotificationAt?: string;
    lastCatchUpAt?: string;
    problems: string[];
  }[];
}

describe('GET /api/status', () => {
  let host: LocalHost;
  let services: RealtimeServices;
  let logLines: LogLine[];
  const graph = new InMemoryGraph();
  const queue = new InProcessQueue({ retryDelayMs: 1, maxDeliveryCount: 1 });

  before(async () => {
    const tables = await createTestTables();
    const started = await startTestHost(async (baseUrl) => {
      const built = await createTestServices({ baseUrl, graph, tables });
      return { ...built.services, queueMonitor: queue };
    });
    host = started.host;
    services = started.services;
    logLines = started.logger.lines;
    await services.mailboxes.add('live@contoso.com', {}, new Date());
    await runSubscriptionSync(services, createRecordingLogger());
    // A mailbox added a week ago that never got a subscription nor a notification.
    await services.mailboxes.add('stale@contoso.com', {}, new Date(Date.now() - 7 * 86_400_000));
    // The catch-up consumer writes lastCatchUpAt on the mailbox row.
    await services.mailboxes.recordNotification('live@contoso.com', new Date());
    await tables.mailboxes.updateEntity(
      {
        partitionKey: 'mailbox',
        rowKey: 'live%40contoso.com',
        lastCatchUpAt: '2026-01-01T00:00:00.000Z',
      },
      'Merge',
    );
    // One job dead-lettered by a consumer that always fails.
    queue.consume(async () => {
      throw new Error('scan failed');
    });
    const job: Job = {
      kind: 'catch-up',
      mailbox: 'live@contoso.com',
      reason: 'timer',
      enqueuedAt: new Date().toISOString(),
    };
    await queue.send([job]);
    await queue.whenIdle();
  });
  after(async () => {
    overrideRealtimeServices(undefined);
    await host.close();
  });

  it('reports each mailbox and the queue', async () => {
    const response = await fetch(`${host.url}/api/status`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(response.status, 200);
    const body = (await response.json()) as StatusBody;
    const live = body.mailboxes.find((m) => m.mailbox === 'live@contoso.com');
    const stale = body.mailboxes.find((m) => m.mailbox === 'stale@contoso.com');
    assert.equal(live?.state, 'active');
    assert.ok(live?.subscriptionExpiresAt);
    assert.ok(live?.lastNotificationAt);
    assert.equal(live?.lastCatchUpAt, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(live?.problems, []);
    assert.deepEqual(stale?.problems, ['no-live-subscription', 'silent']);
    assert.equal(body.unhealthyMailboxes, 1);
    assert.deepEqual(body.queue, { backlog: 0, deadLettered: 1 });
  });

  it('rejects query parameters', async () => {
    const response = await fetch(`${host.url}/api/status?verbose=1`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(response.status, 400);
    assert.match(((await response.json()) as { error: string }).error, /verbose: unknown parameter/);
  });

  it('logs a mailbox without a live subscription as an error', async () => {
    await fetch(`${host.url}/api/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const alerts = logLines.filter(
      (line) =>
        line.level === 'error' &&
        line.message === 'Monitored mailbox is not covered by notifications',
    );
    assert.ok(alerts.length >= 1);
    assert.equal(alerts[0]?.fields?.problems, 'no-live-subscription,silent');
    assert.doesNotMatch(JSON.stringify(alerts), /stale@contoso\.com/);
  });
});
