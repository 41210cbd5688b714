import type { TableClient } from '@azure/data-tables';

import { HiddenFolders } from '../../src/arrival/mailbox-actions.js';
import { MessageLocks } from '../../src/arrival/message-locks.js';
import { SyncStates } from '../../src/arrival/sync-states.js';
import { VerdictLog } from '../../src/arrival/verdict-log.js';
import type { Settings } from '../../src/config/settings.js';
import type { EwsClient } from '../../src/ews/ews-client.js';
import type { GraphClient } from '../../src/graph/graph-client.js';
import { MailboxRouter } from '../../src/mailbox/mailbox-router.js';
import { createBlobQuarantineStore } from '../../src/quarantine/index.js';
import type { Job, JobQueue, ScanMailboxJob } from '../../src/queue/jobs.js';
import { createInProcessScanner, type MessageScanner } from '../../src/scanning/message-scanner.js';
import {
  handleScanMailbox,
  type MailboxScanDependencies,
  type MailboxScanResult,
} from '../../src/scans/mailbox-scan.js';
import { ScanStore } from '../../src/scans/scan-store.js';
import type { StartScanDependencies } from '../../src/scans/start-scan.js';
import { silentLogger } from '../../src/shared/logger.js';
import type { EwsSimulator } from '../ews-simulator/ews-simulator.js';
import { clientFor, startSimulator } from '../ews/ews-test-support.js';
import { startGraphFixture, type GraphFixture } from '../graph/graph-test-support.js';
import { createTestPipeline, testSettings } from '../helpers/pipeline.js';
import { openTestTable } from '../arrival/arrival-test-support.js';
import { testQuarantineSettings } from '../quarantine/azurite-test-support.js';

/** Domain whose mailboxes the router sends to the EWS simulator. */
export const ONPREM_DOMAIN = 'onprem.contoso.com';

/** A queue that keeps what is sent, for the test to run. */
export class RecordingQueue implements JobQueue {
  readonly jobs: Job[] = [];

  async send(jobs: readonly Job[]): Promise<void> {
    this.jobs.push(...jobs);
  }

  /** Removes and returns the scan-mailbox jobs sent so far. */
  take(): ScanMailboxJob[] {
    const taken = this.jobs.filter((job): job is ScanMailboxJob => job.kind === 'scan-mailbox');
    this.jobs.length = 0;
    return taken;
  }
}

/** Wraps a scanner to count the messages it scans, by message id. */
export function countingScanner(inner: MessageScanner): MessageScanner & { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  return {
    counts,
    async scan(raw, context) {
      const key = context?.messageId ?? '';
      counts.set(key, (counts.get(key) ?? 0) + 1);
      return inner.scan(raw, context);
    },
    async close() {
      await inner.close?.();
    },
  } as MessageScanner & { counts: Map<string, number> };
}

/** Graph and EWS simulators, the real clients behind a router, and scan dependencies on Azurite. */
export interface ScanFixture {
  graph: GraphFixture;
  ews: EwsSimulator;
  ewsClient: EwsClient;
  router: MailboxRouter;
  settings: Settings;
  queue: RecordingQueue;
  store: ScanStore;
  /** The `scans` table behind `store`. */
  scansTable: TableClient;
  scanner: ReturnType<typeof countingScanner>;
  deps: Omit<MailboxScanDependencies, 'logger'>;
  start: StartScanDependencies;
  monitored: string[];
  close(): Promise<void>;
}

/** Builds a fixture; `overrides` are settings keys. */
export async function createScanFixture(overrides: Record<string, string> = {}): Promise<ScanFixture> {
  const settings = testSettings({ MAILSWEEP_ONPREM_DOMAINS: ONPREM_DOMAIN, ...overrides });
  const graph = await startGraphFixture();
  const ews = await startSimulator();
  const ewsClient = clientFor(ews);
  const router = new MailboxRouter({
    graph: graph.client,
    ews: ewsClient,
    onPremDomains: settings.hybrid.onPremDomains,
  });
  const [scans, locks, verdicts, syncStates] = await Promise.all([
    openTestTable('scans'),
    openTestTable('locks'),
    openTestTable('verdicts'),
    openTestTable('syncstates'),
  ]);
  const scanner = countingScanner(createInProcessScanner(await createTestPipeline(overrides)));
  const queue = new RecordingQueue();
  const store = new ScanStore(scans);
  const monitored: string[] = [];
  const arrival = {
    settings,
    client: router,
    scanner,
    store: createBlobQuarantineStore({ settings: testQuarantineSettings('scans'), logger: silentLogger }),
    locks: new MessageLocks(locks),
    verdictLog: new VerdictLog(verdicts),
    hiddenFolders: new HiddenFolders(router, settings.arrival.quarantineFolderName),
  };
  return {
    graph,
    ews,
    ewsClient,
    router,
    settings,
    queue,
    store,
    scansTable: scans,
    scanner,
    monitored,
    deps: {
      settings,
      client: router,
      store,
      queue,
      arrival,
      locksTable: locks,
      syncStates: new SyncStates(syncStates),
    },
    start: {
      settings,
      store,
      queue,
      listMonitoredMailboxes: async () => [...monitored],
      logger: silentLogger,
      now: () => new Date(),
    },
    close: async () => {
      ewsClient.close();
      await ews.close();
      await graph.close();
    },
  };
}

/**
 * Runs every scan-mailbox job on the queue, and the jobs they send, until none is left. Each job
 * gets `maxDeliveryCount` deliveries; a job that throws on its last one is returned as `thrown`.
 */
export async function drain(
  fixture: ScanFixture,
  extra: Partial<MailboxScanDependencies> = {},
): Promise<{ results: MailboxScanResult[]; thrown: unknown[] }> {
  const results: MailboxScanResult[] = [];
  const thrown: unknown[] = [];
  for (let jobs = fixture.queue.take(); jobs.length > 0; jobs = fixture.queue.take()) {
    await Promise.all(
      jobs.map(async (job) => {
        for (let delivery = 1; delivery <= fixture.settings.queue.maxDeliveryCount; delivery += 1) {
          try {
            results.push(
              await handleScanMailbox(job, { deliveryCount: delivery }, { ...fixture.deps, logger: silentLogger, ...extra }),
            );
            return;
          } catch (error) {
            if (delivery === fixture.settings.queue.maxDeliveryCount) {
              thrown.push(error);
            }
          }
        }
      }),
    );
  }
  return { results, thrown };
}

/** Builds a small plain-text message with a Message-ID. */
export function plainMessage(id: string, body: string): Buffer {
  return Buffer.from(
    [
      'From: sender@fabrikam.example',
      'To: user@contoso.com',
      `Subject: message ${id}`,
      'Date: Thu, 03 Dec 2026 09:15:00 +0000',
      `Message-ID: <${id}@fabrikam.example>`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      body,
      '',
    ].join('\r\n'),
  );
}
