import { randomBytes } from 'node:crypto';

import { closeArrivalRuntime } from '../../src/arrival/arrival-runtime.js';
import type { EwsClientOptions } from '../../src/ews/ews-client.js';
import type { VerdictRecord } from '../../src/arrival/verdict-log.js';
import { unwireServices, wireServices } from '../../src/app/wiring.js';
import { startLocalHost, type LocalHost } from '../../src/functions-host/local-host.js';
import type { RetryOptions } from '../../src/graph/retry-policy.js';
import type { InProcessQueue } from '../../src/queue/in-process-queue.js';
import { SCAN_QUEUE_NAME } from '../../src/queue/jobs.js';
import { getLocalQueue } from '../../src/queue/local-queues.js';
import { realtimeServices } from '../../src/realtime/provider.js';
import { runSubscriptionSync, type SyncReport } from '../../src/realtime/subscription-sync.js';
import { silentLogger, type Logger } from '../../src/shared/logger.js';
import {
  startGraphSimulator,
  type GraphSimulator,
  type GraphSimulatorOptions,
} from '../graph-simulator/graph-simulator.js';

/** Options of {@link startLoopHarness}. */
export interface LoopHarnessOptions {
  simulator?: GraphSimulatorOptions;
  /** Extra MAILSWEEP_* settings, applied to process.env. */
  env?: Record<string, string>;
  /** Default silentLogger. */
  logger?: Logger;
  /** Local host port; default 0 (any free port). */
  port?: number;
  /** Run the timers on their schedules; default false (tests run the sync themselves). */
  runTimers?: boolean;
  /** Graph client retry timing; default fast enough for tests. */
  graphRetry?: Partial<RetryOptions>;
  /** First redelivery delay of the in-process scan queue; default 50 ms. */
  queueRetryDelayMs?: number;
  /** Scan jobs handled at once by the in-process queue; default 4. */
  queueConcurrency?: number;
  /** Options of the EWS client, e.g. the EWS simulator's CA; needs MAILSWEEP_EWS_* in `env`. */
  ews?: Partial<EwsClientOptions>;
}

/** The whole real-time loop in this process: simulator, local host, queue and real handlers. */
export interface LoopHarness {
  sim: GraphSimulator;
  host: LocalHost;
  queue: InProcessQueue;
  adminToken: string;
  /** Calls the local host as the administrator. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** Adds a monitored mailbox through POST /api/mailboxes; returns the row it answered with. */
  addMailbox(address: string): Promise<{ state: string; subscriptionId?: string }>;
  /** Reads a mailbox's verdict log through GET /api/verdicts. */
  verdicts(mailbox: string): Promise<VerdictRecord[]>;
  /** Runs the subscription timer's work once (subscriptions, then a catch-up per mailbox). */
  runSync(): Promise<SyncReport>;
  /** Waits until no notification delivery, scan job or redelivery is left. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

/** Retries of the Graph client in tests: the production shape with short delays. */
const FAST_GRAPH_RETRY: Partial<RetryOptions> = { baseDelayMs: 20, maxDelayMs: 200 };

/**
 * Starts the Graph simulator and the local host serving the real registered functions, wired to
 * the simulator through the real Graph client. It sets process.env, so use one per process.
 * Needs MAILSWEEP_QUARANTINE_CONNECTION_STRING (scripts/with-azurite.mjs sets it).
 */
export async function startLoopHarness(options: LoopHarnessOptions = {}): Promise<LoopHarness> {
  if (process.env.MAILSWEEP_QUARANTINE_CONNECTION_STRING === undefined) {
    throw new Error(
      'MAILSWEEP_QUARANTINE_CONNECTION_STRING is not set: run under scripts/with-azurite.mjs',
    );
  }
  const logger = options.logger ?? silentLogger;
  const sim = await startGraphSimulator(options.simulator);
  const adminToken = randomBytes(24).toString('hex');
  Object.assign(process.env, {
    MAILSWEEP_GRAPH_TENANT_ID: sim.tenantId,
    MAILSWEEP_GRAPH_CLIENT_ID: sim.clientId,
    MAILSWEEP_GRAPH_CLIENT_SECRET: sim.clientSecret,
    MAILSWEEP_GRAPH_BASE_URL: sim.baseUrl,
    MAILSWEEP_GRAPH_AUTHORITY_HOST: sim.authorityHost,
    MAILSWEEP_AUTH_MODE: 'local-token',
    MAILSWEEP_LOCAL_ADMIN_TOKEN: adminToken,
    MAILSWEEP_ORG_DOMAINS: 'contoso.com',
    MAILSWEEP_SCAN_WORKERS: '1',
    MAILSWEEP_QUEUE_RETRY_DELAY_MS: String(options.queueRetryDelayMs ?? 50),
    MAILSWEEP_RULES_REFRESH_SECONDS: '1',
    ...options.env,
  });

  // The first caller creates the process's scan queue; the endpoints and the host then share it.
  const queue = getLocalQueue(SCAN_QUEUE_NAME, {
    retryDelayMs: options.queueRetryDelayMs ?? 50,
    maxRetryDelayMs: 2000,
    maxConcurrency: options.queueConcurrency ?? 4,
    maxDeliveryCount: Number(process.env.MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT ?? '10'),
    logger,
  });
  await import('../../functions/index.js');
  wireServices({
    graph: { ca: sim.certificate, retry: options.graphRetry ?? FAST_GRAPH_RETRY },
    ...(options.ews === undefined ? {} : { ews: options.ews }),
    logger,
  });
  const host = await startLocalHost({
    port: options.port ?? 0,
    logger,
    runTimers: options.runTimers ?? false,
  });
  process.env.MAILSWEEP_PUBLIC_BASE_URL = host.url;

  const api = (path: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${host.url}/api/${path}`, {
      ...init,
      headers: { authorization: `Bearer ${adminToken}`, ...init.headers },
    });

  const harness: LoopHarness = {
    sim,
    host,
    queue,
    adminToken,
    api,
    async addMailbox(address) {
      const response = await api('mailboxes', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ address }),
      });
      if (response.status !== 201) {
        const text = await response.text();
        throw new Error(`POST /api/mailboxes returned ${response.status}: ${text}`);
      }
      return ((await response.json()) as { mailbox: { state: string; subscriptionId?: string } })
        .mailbox;
    },
    async verdicts(mailbox) {
      const records: VerdictRecord[] = [];
      let continuation: string | undefined;
      do {
        const query = new URLSearchParams({ mailbox, limit: '500' });
        if (continuation !== undefined) {
          query.set('continuation', continuation);
        }
        const response = await api(`verdicts?${query}`);
        if (response.status !== 200) {
          const text = await response.text();
          throw new Error(`GET /api/verdicts returned ${response.status}: ${text}`);
        }
        const page = (await response.json()) as {
          verdicts: VerdictRecord[];
          continuation?: string;
        };
        records.push(...page.verdicts);
        continuation = page.continuation;
      } while (continuation !== undefined);
      return records;
    },
    async runSync() {
      return runSubscriptionSync(await realtimeServices(process.env), logger);
    },
    async settle() {
      // A scan moves messages, and a move makes the simulator notify again, so repeat until a
      // round starts no new delivery.
      for (;;) {
        const before = sim.deliveries.length;
        await sim.flushNotifications();
        await queue.whenIdle();
        await sim.flushNotifications();
        if (sim.deliveries.length === before) {
          return;
        }
      }
    },
    async close() {
      await host.close();
      await closeArrivalRuntime();
      unwireServices();
      await sim.close();
    },
  };
  return harness;
}
