// npm run bench:notifications: latency of POST /api/graph/notifications for 100-notification
// batches over real HTTP on 127.0.0.1, with the real handler, Azurite tables and the in-process
// queue. Needs Azurite: the script runs under scripts/with-azurite.mjs. Not a test: figures go to
// docs/benchmarks.md by hand, with the machine.
import { randomUUID } from 'node:crypto';
import os from 'node:os';

import { TableClient } from '@azure/data-tables';

import '../functions/index.js';
import { loadSettings } from '../src/config/settings.js';
import { startLocalHost } from '../src/functions-host/local-host.js';
import { InProcessQueue } from '../src/queue/in-process-queue.js';
import { createRealtimeServices } from '../src/realtime/compose.js';
import { overrideRealtimeServices } from '../src/realtime/provider.js';
import { SubscriptionCache, hashClientState } from '../src/realtime/subscription-store.js';
import { silentLogger } from '../src/shared/logger.js';

const BATCH = 100;
const SUBSCRIPTIONS = 10;
const WARM_UP = 20;
const REQUESTS = 500;

async function main(): Promise<void> {
  const connectionString = process.env.MAILSWEEP_QUARANTINE_CONNECTION_STRING;
  if (connectionString === undefined) {
    throw new Error('Run through scripts/with-azurite.mjs, which sets the storage connection');
  }
  const table = async (name: string) => {
    const client = TableClient.fromConnectionString(connectionString, name, {
      allowInsecureConnection: true,
    });
    await client.createTable();
    return client;
  };
  const tables = {
    mailboxes: await table('benchmb'),
    subscriptions: await table('benchsub'),
    leases: await table('benchlease'),
  };
  const queue = new InProcessQueue();
  const services = await createRealtimeServices(
    loadSettings({ MAILSWEEP_QUARANTINE_CONNECTION_STRING: connectionString }),
    {
      tables,
      queue: { queue, monitor: queue },
    },
  );
  overrideRealtimeServices(services);

  const subscriptions: { id: string; userId: string; clientState: string; mailbox: string }[] = [];
  for (let i = 0; i < SUBSCRIPTIONS; i += 1) {
    const mailbox = `bench${i}@contoso.com`;
    const subscription = {
      id: randomUUID(),
      userId: randomUUID(),
      clientState: randomUUID(),
      mailbox,
    };
    await services.mailboxes.add(mailbox, {}, new Date());
    await services.subscriptions.put({
      subscriptionId: subscription.id,
      mailbox,
      userId: subscription.userId,
      clientStateHash: hashClientState(subscription.clientState),
      expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      createdAt: new Date().toISOString(),
    });
    subscriptions.push(subscription);
  }
  const host = await startLocalHost({
    port: 0,
    logger: silentLogger,
    runTimers: false,
    queueFor: () => new InProcessQueue(),
  });
  const url = `${host.url}/api/graph/notifications`;

  const batchBody = (round: number) =>
    JSON.stringify({
      value: Array.from({ length: BATCH }, (_, i) => {
        const s = subscriptions[i % SUBSCRIPTIONS]!;
        const messageId = `AAMk${round}x${i}=`;
        return {
          subscriptionId: s.id,
          clientState: s.clientState,
          changeType: 'created',
          resource: `Users/${s.userId}/Messages/${messageId}`,
          resourceData: { '@odata.type': '#Microsoft.Graph.Message', id: messageId },
          tenantId: randomUUID(),
        };
      }),
    });

  const measure = async (label: string, beforeEach: () => void) => {
    const times: number[] = [];
    for (let round = 0; round < WARM_UP + REQUESTS; round += 1) {
      beforeEach();
      const body = batchBody(round);
      const started = process.hrtime.bigint();
      const response = await fetch(url, { method: 'POST', body });
      await response.arrayBuffer();
      const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
      if (response.status !== 202) throw new Error(`unexpected status ${response.status}`);
      if (round >= WARM_UP) times.push(elapsedMs);
    }
    times.sort((a, b) => a - b);
    const at = (q: number) =>
      times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!.toFixed(1);
    process.stdout.write(
      `${label}: ${REQUESTS} requests of ${BATCH} notifications (${SUBSCRIPTIONS} subscriptions): ` +
        `p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms\n`,
    );
  };

  process.stdout.write(
    `node ${process.version}, ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}\n`,
  );
  await measure('warm cache', () => undefined);
  // Every request reads its 10 subscriptions from the table, as after a cold start.
  await measure('cold cache', () => {
    (services as { subscriptionCache: SubscriptionCache }).subscriptionCache =
      new SubscriptionCache(services.subscriptions);
  });
  process.stdout.write(`jobs enqueued: ${(await queue.readStats()).backlog}\n`);
  await host.close();
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
