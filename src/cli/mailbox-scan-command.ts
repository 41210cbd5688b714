import { writeFile } from 'node:fs/promises';
import path from 'node:path';

import cliProgress from 'cli-progress';

import { HiddenFolders } from '../arrival/mailbox-actions.js';
import { MessageLocks } from '../arrival/message-locks.js';
import { SyncStates } from '../arrival/sync-states.js';
import { VerdictLog } from '../arrival/verdict-log.js';
import { loadSettings, pickSettingsEnvironment, type Settings } from '../config/settings.js';
import { createEwsClient } from '../ews/create-ews-client.js';
import { createGraphClient, isGraphConfigured } from '../graph/create-graph-client.js';
import type { MailboxClient } from '../mailbox/mailbox-client.js';
import { MailboxRouter } from '../mailbox/mailbox-router.js';
import { createBlobQuarantineStore } from '../quarantine/index.js';
import { startLocalAzurite } from '../quarantine/local-azurite.js';
import type { Job, JobQueue, ScanMailboxJob } from '../queue/jobs.js';
import { createScanPool } from '../scanning/scan-pool.js';
import { handleScanMailbox, type MailboxScanDependencies } from '../scans/mailbox-scan.js';
import { ScanStore, type ScanItem } from '../scans/scan-store.js';
import { summarizeScan, type ScanSummary } from '../scans/scan-summary.js';
import { startScan } from '../scans/start-scan.js';
import { ScannerError } from '../shared/errors.js';
import { createJsonLogger, type Logger } from '../shared/logger.js';
import { toVisibleJson } from '../shared/visible-text.js';
import { openStateTable, STATE_TABLES } from '../state/tables.js';
import { LOCAL_DATA_FOLDER } from './open-store.js';

/** Options of `mailsweep scan --mailbox`. */
export interface MailboxScanFlags {
  mailbox: string[];
  /** `7d`, `12h`, or an ISO 8601 time. */
  since: string;
  until?: string;
  /** EWS URL; every named mailbox is then scanned over EWS. */
  ews?: string;
  mode: 'report' | 'act';
  folders?: string[];
  includeArchive?: boolean;
  includeRecoverableItems?: boolean;
  retro?: boolean;
  report?: string;
}

/** Environment of the command; tests pass the simulators' certificates. */
export interface MailboxScanEnvironment {
  env: Record<string, string | undefined>;
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Extra trusted CA in PEM for Graph and EWS (a test simulator's); default none. */
  ca?: string;
}

/**
 * Runs `mailsweep scan --mailbox`: the same mailbox scan as `POST /api/scans`, run in this
 * process with a progress bar. Scan state goes to the configured Table storage, or to a local
 * Azurite under `.mailsweep/azurite` when none is configured.
 * @returns the scan's summary and report rows.
 * @throws ScannerError `config-invalid` for bad options or when neither Graph nor EWS is set up.
 */
export async function runMailboxScan(
  flags: MailboxScanFlags,
  environment: MailboxScanEnvironment,
): Promise<{ summary: ScanSummary; items: ScanItem[] }> {
  const env = flags.ews === undefined ? environment.env : { ...environment.env, MAILSWEEP_EWS_URL: flags.ews };
  const settings = loadSettings(env);
  const logger = createJsonLogger(settings.logLevel === 'info' ? 'warn' : settings.logLevel);
  const body = {
    scope: { mailboxes: flags.mailbox },
    window: { since: toSince(flags.since, new Date()).toISOString(), until: flags.until },
    folders: flags.folders === undefined || flags.folders.length === 0 ? 'all' : flags.folders,
    includeArchive: flags.includeArchive === true,
    includeRecoverableItems: flags.includeRecoverableItems === true,
    mode: flags.mode,
    retro: flags.retro === true,
  };
  const client = openMailboxClient(settings, flags, logger, environment.ca);

  let azurite: Awaited<ReturnType<typeof startLocalAzurite>> | undefined;
  let state = settings.state;
  let quarantine = settings.quarantine;
  if (state.connectionString === undefined && state.tableServiceUri === undefined) {
    azurite = await startLocalAzurite({
      location: path.resolve(LOCAL_DATA_FOLDER, 'azurite'),
      logger,
      withTables: true,
    });
    state = { connectionString: azurite.connectionString };
    if (quarantine.connectionString === undefined && quarantine.blobServiceUri === undefined) {
      quarantine = { ...quarantine, connectionString: azurite.connectionString };
    }
  }
  const scanner = await createScanPool({
    settings,
    env: pickSettingsEnvironment(env),
    size: settings.workers.count,
    logger,
  });
  try {
    const [scans, locks, verdicts, syncStates] = await Promise.all([
      openStateTable({ settings: state }, STATE_TABLES.scans),
      openStateTable({ settings: state }, STATE_TABLES.messageLocks),
      openStateTable({ settings: state }, STATE_TABLES.verdicts),
      openStateTable({ settings: state }, STATE_TABLES.syncStates),
    ]);
    const queue = new ListQueue();
    const store = new ScanStore(scans);
    const started = await startScan(
      body,
      { trigger: 'command-line', createdBy: 'command-line' },
      { settings, store, queue, listMonitoredMailboxes: async () => [], logger, now: () => new Date() },
    );
    if (!started.ok) {
      throw new ScannerError('config-invalid', started.error);
    }
    const deps: MailboxScanDependencies = {
      settings,
      client,
      store,
      queue,
      arrival: {
        settings,
        client,
        scanner,
        store: createBlobQuarantineStore({ settings: quarantine, logger }),
        locks: new MessageLocks(locks),
        verdictLog: new VerdictLog(verdicts),
        hiddenFolders: new HiddenFolders(client, settings.arrival.quarantineFolderName),
      },
      locksTable: locks,
      syncStates: new SyncStates(syncStates),
      logger,
    };
    await runJobs(queue, deps, started.scan.mailboxCount, environment.stderr);

    const record = await store.get(started.scan.scanId);
    if (record === undefined) {
      throw new ScannerError('blob-unavailable', 'The scan record could not be read back');
    }
    const summary = summarizeScan(record, await store.listProgress(record.scanId), new Date());
    const items: ScanItem[] = [];
    for await (const item of store.listItems(record.scanId)) {
      items.push(item);
    }
    if (flags.report !== undefined) {
      await writeFile(flags.report, items.map((item) => toVisibleJson(item)).join('\n') + '\n');
    }
    return { summary, items };
  } finally {
    await scanner.close();
    await azurite?.stop();
  }
}

/** Prints a scan summary as a few plain lines. */
export function printMailboxScanSummary(summary: ScanSummary, stdout: NodeJS.WritableStream): void {
  const findings = Object.entries(summary.findings)
    .map(([category, count]) => `${category} ${count}`)
    .join(', ');
  stdout.write(
    `scan ${summary.scanId}: ${summary.mailboxes.done} of ${summary.mailboxes.total} mailboxes done, ` +
      `${summary.messages.scanned} messages scanned, ${summary.messages.skipped} skipped, ` +
      `${summary.messages.errors} errors, ${summary.ratePerSecond} messages/s\n`,
  );
  stdout.write(`findings: ${findings === '' ? 'none' : findings}\n`);
  for (const error of summary.errors) {
    stdout.write(`error: ${error.mailbox}: ${error.code}: ${error.message}\n`);
  }
}

/** Reads `--since`: a number of days (`7d`) or hours (`12h`) back from now, or an ISO 8601 time. */
export function toSince(value: string, now: Date): Date {
  const relative = /^([0-9]{1,5})([dh])$/.exec(value.trim());
  if (relative !== null) {
    const hours = Number(relative[1]) * (relative[2] === 'd' ? 24 : 1);
    return new Date(now.getTime() - hours * 3_600_000);
  }
  const time = new Date(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || !Number.isFinite(time.getTime())) {
    throw new ScannerError(
      'config-invalid',
      `--since ${value} is invalid: use days (7d), hours (12h) or an ISO 8601 time`,
    );
  }
  return time;
}

function openMailboxClient(
  settings: Settings,
  flags: MailboxScanFlags,
  logger: Logger,
  ca: string | undefined,
): MailboxRouter {
  const graphReady = isGraphConfigured(settings);
  const ews = settings.ews.url === undefined ? undefined : createEwsClient(settings, logger, { ca });
  if (!graphReady && ews === undefined) {
    throw new ScannerError(
      'config-invalid',
      'Neither Graph nor EWS is configured: set MAILSWEEP_GRAPH_TENANT_ID and ' +
        'MAILSWEEP_GRAPH_CLIENT_ID with a credential, or pass --ews URL with ' +
        'MAILSWEEP_EWS_USERNAME and MAILSWEEP_EWS_PASSWORD',
    );
  }
  if (!graphReady && flags.ews === undefined && settings.hybrid.onPremMailboxes.length === 0) {
    logger.warn('Graph is not configured; every mailbox is scanned over EWS');
  }
  return new MailboxRouter({
    graph: graphReady ? createGraphClient(settings, logger, { ca }) : unconfiguredGraph(),
    ews,
    // With --ews, or without Graph, every named mailbox is on premises.
    onPremMailboxes:
      flags.ews !== undefined || !graphReady ? flags.mailbox : settings.hybrid.onPremMailboxes,
    onPremDomains: settings.hybrid.onPremDomains,
    logger,
  });
}

/** Returns a Graph stand-in whose every call fails as `config-invalid`, for an EWS-only run. */
function unconfiguredGraph(): MailboxClient {
  const fail = (): never => {
    throw new ScannerError('config-invalid', 'Graph is not configured');
  };
  return new Proxy({} as MailboxClient, { get: () => fail });
}

/** A queue that keeps the jobs for this process to run. */
class ListQueue implements JobQueue {
  readonly jobs: ScanMailboxJob[] = [];

  async send(jobs: readonly Job[]): Promise<void> {
    for (const job of jobs) {
      if (job.kind === 'scan-mailbox') {
        this.jobs.push(job);
      }
    }
  }
}

/** Runs the jobs, a few mailboxes at a time, with a progress bar on a terminal. */
async function runJobs(
  queue: ListQueue,
  deps: MailboxScanDependencies,
  mailboxes: number,
  stderr: MailboxScanEnvironment['stderr'],
): Promise<void> {
  const tty = 'isTTY' in stderr && stderr.isTTY === true;
  const bar = tty
    ? new cliProgress.SingleBar(
        {
          stream: stderr as NodeJS.WriteStream,
          format: 'scanning |{bar}| {value}/{total} mailboxes | {messages} messages',
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  let messages = 0;
  let finished = 0;
  bar?.start(mailboxes, 0, { messages });
  const afterMessage = (): void => {
    messages += 1;
    bar?.update(finished, { messages });
  };
  const worker = async (): Promise<void> => {
    for (let job = queue.jobs.shift(); job !== undefined; job = queue.jobs.shift()) {
      await runOneJob(job, { ...deps, afterMessage }, deps.settings.queue.maxDeliveryCount);
      if (!queue.jobs.some((next) => next.mailbox === job?.mailbox)) {
        finished += 1;
        bar?.update(finished, { messages });
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(4, Math.max(1, mailboxes)) }, () => worker()));
  } finally {
    bar?.stop();
  }
}

/** Delivers one job up to `maxDeliveries` times, as the queue would. */
async function runOneJob(job: ScanMailboxJob, deps: MailboxScanDependencies, maxDeliveries: number): Promise<void> {
  for (let delivery = 1; ; delivery += 1) {
    try {
      await handleScanMailbox(job, { deliveryCount: delivery }, deps);
      return;
    } catch (error) {
      if (delivery >= maxDeliveries) {
        throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, 500 * delivery));
    }
  }
}
