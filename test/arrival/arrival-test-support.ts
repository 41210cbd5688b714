import { randomBytes } from 'node:crypto';

import { TableClient } from '@azure/data-tables';

import type { ArrivalDependencies } from '../../src/arrival/arrival-context.js';
import { HiddenFolders } from '../../src/arrival/mailbox-actions.js';
import { MessageLocks } from '../../src/arrival/message-locks.js';
import { VerdictLog, mailboxPartition, queryVerdictPage, type VerdictRecord } from '../../src/arrival/verdict-log.js';
import { createBlobQuarantineStore, type QuarantineStore } from '../../src/quarantine/index.js';
import type { ScanMessageJob } from '../../src/queue/jobs.js';
import { createInProcessScanner, type MessageScanner } from '../../src/scanning/message-scanner.js';
import { silentLogger, type Logger } from '../../src/shared/logger.js';
import { InMemoryMailbox } from '../helpers/in-memory-mailbox.js';
import { createTestPipeline, testSettings } from '../helpers/pipeline.js';
import { requireAzuriteConnectionString, testQuarantineSettings } from '../quarantine/azurite-test-support.js';

/** Opens a table with a name no other test uses, on the test Azurite. */
export async function openTestTable(prefix: string): Promise<TableClient> {
  const name = `${prefix}${randomBytes(6).toString('hex')}`;
  const table = TableClient.fromConnectionString(requireAzuriteConnectionString(), name, {
    allowInsecureConnection: true,
  });
  await table.createTable();
  return table;
}

/** Returns a mailbox address no other test uses. */
export function uniqueMailbox(): string {
  return `user-${randomBytes(4).toString('hex')}@contoso.com`;
}

/** Wraps a QuarantineStore to count its puts and the copies they created. */
export function countingStore(store: QuarantineStore): QuarantineStore & { created: number; puts: number } {
  const counted = {
    ...store,
    created: 0,
    puts: 0,
    async put(raw: Uint8Array, item: Parameters<QuarantineStore['put']>[1]) {
      counted.puts += 1;
      const result = await store.put(raw, item);
      counted.created += result.created ? 1 : 0;
      return result;
    },
  };
  return counted;
}

/** Everything a scan-message test needs, on fresh tables and a fresh container. */
export interface ArrivalFixture {
  deps: ArrivalDependencies;
  client: InMemoryMailbox;
  store: ReturnType<typeof countingStore>;
  verdictTable: TableClient;
  lockTable: TableClient;
}

/** Builds the dependencies with the real pipeline, Azurite tables and blob store. */
export async function createArrivalFixture(
  overrides: Record<string, string> = {},
  options: { scanner?: MessageScanner; logger?: Logger } = {},
): Promise<ArrivalFixture> {
  const settings = testSettings(overrides);
  const client = new InMemoryMailbox();
  const store = countingStore(
    createBlobQuarantineStore({ settings: testQuarantineSettings('arrival'), logger: silentLogger }),
  );
  const verdictTable = await openTestTable('verdicts');
  const lockTable = await openTestTable('locks');
  const deps: ArrivalDependencies = {
    settings,
    client,
    scanner: options.scanner ?? createInProcessScanner(await createTestPipeline(overrides)),
    store,
    locks: new MessageLocks(lockTable),
    verdictLog: new VerdictLog(verdictTable),
    hiddenFolders: new HiddenFolders(client, settings.arrival.quarantineFolderName),
    logger: options.logger ?? silentLogger,
  };
  return { deps, client, store, verdictTable, lockTable };
}

/** Builds a scan-message job for an item. */
export function jobFor(mailbox: string, messageId: string, trigger: ScanMessageJob['trigger'] = 'arrival'): ScanMessageJob {
  return { kind: 'scan-message', mailbox, messageId, trigger, enqueuedAt: new Date().toISOString() };
}

/** Reads every verdict log entry of a mailbox from the last day, newest first. */
export async function verdictsOf(table: TableClient, mailbox: string): Promise<VerdictRecord[]> {
  const now = Date.now();
  const page = await queryVerdictPage(table, {
    partitionKey: mailboxPartition(mailbox),
    from: new Date(now - 86_400_000),
    to: new Date(now + 60_000),
    maxPageSize: 1000,
  });
  return page.records;
}
