import { randomBytes } from 'node:crypto';

import { TableClient } from '@azure/data-tables';

import { loadSettings } from '../../src/config/settings.js';
import type { HandlerContext } from '../../src/functions-host/registry.js';
import { startLocalHost, type LocalHost } from '../../src/functions-host/local-host.js';
import { registeredFunctions } from '../../src/functions-host/registry.js';
import { InProcessQueue } from '../../src/queue/in-process-queue.js';
import type { Job, JobQueue } from '../../src/queue/jobs.js';
import { createRealtimeServices } from '../../src/realtime/compose.js';
import { overrideRealtimeServices } from '../../src/realtime/provider.js';
import type { RealtimeServices } from '../../src/realtime/services.js';
import {
  createRecordingLogger,
  requireAzuriteConnectionString,
} from '../quarantine/azurite-test-support.js';
import { InMemoryGraph } from './in-memory-graph.js';

/** Bearer token of the local administrator in these tests. */
export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';

/** A queue that records the jobs sent and fails every send while `failing` is set. */
export class RecordingQueue implements JobQueue {
  readonly jobs: Job[] = [];
  sends = 0;
  failing = false;

  async send(jobs: readonly Job[]): Promise<void> {
    this.sends += 1;
    if (this.failing) throw new Error('queue unavailable (test)');
    this.jobs.push(...jobs);
  }
}

/** Creates tables with names no other test uses, on the test Azurite. */
export async function createTestTables() {
  const connectionString = requireAzuriteConnectionString();
  const open = async (prefix: string) => {
    const name = `${prefix}${randomBytes(5).toString('hex')}`;
    const client = TableClient.fromConnectionString(connectionString, name, {
      allowInsecureConnection: true,
    });
    await client.createTable();
    return client;
  };
  const [mailboxes, subscriptions, leases] = await Promise.all([
    open('mb'),
    open('sub'),
    open('lease'),
  ]);
  return { mailboxes, subscriptions, leases };
}

/** Options of {@link createTestServices}. */
export interface TestServicesOptions {
  baseUrl?: string;
  graph?: InMemoryGraph;
  queue?: JobQueue;
  env?: Record<string, string>;
  tables?: Awaited<ReturnType<typeof createTestTables>>;
  now?: () => Date;
}

/** Builds real-time services on fresh Azurite tables with an in-memory Graph. */
export async function createTestServices(options: TestServicesOptions = {}) {
  const settings = loadSettings({
    MAILSWEEP_QUARANTINE_CONNECTION_STRING: requireAzuriteConnectionString(),
    MAILSWEEP_PUBLIC_BASE_URL: options.baseUrl ?? 'http://127.0.0.1:9',
    MAILSWEEP_AUTH_MODE: 'local-token',
    MAILSWEEP_LOCAL_ADMIN_TOKEN: ADMIN_TOKEN,
    ...options.env,
  });
  const graph = options.graph ?? new InMemoryGraph();
  const queue = options.queue ?? new RecordingQueue();
  const local = new InProcessQueue();
  const tables = options.tables ?? (await createTestTables());
  const services = await createRealtimeServices(settings, {
    graph: { subscriptions: graph, directory: graph, users: graph },
    queue: { queue, monitor: local },
    tables,
    retryDelaysMs: [10, 20, 40],
    now: options.now,
  });
  return { services, graph, queue, tables };
}

/**
 * Starts the local host with every registered function (functions/index.ts must be imported
 * first) and makes the functions use the services `build` returns for the host's URL.
 */
export async function startTestHost(
  build: (baseUrl: string) => Promise<RealtimeServices>,
): Promise<{
  host: LocalHost;
  services: RealtimeServices;
  logger: ReturnType<typeof createRecordingLogger>;
}> {
  const logger = createRecordingLogger();
  const host = await startLocalHost({
    port: 0,
    logger,
    functions: registeredFunctions(),
    runTimers: false,
    queueFor: () => new InProcessQueue(),
  });
  const services = await build(host.url);
  overrideRealtimeServices(services);
  return { host, services, logger };
}

/** A handler context that records log lines. */
export function createTestContext(): HandlerContext & {
  lines: { level: string; message: string; fields?: Record<string, unknown> }[];
} {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  return {
    invocationId: 'test-invocation',
    lines,
    log(level, message, fields) {
      lines.push({ level, message, fields });
    },
  };
}
