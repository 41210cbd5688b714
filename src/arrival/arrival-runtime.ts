import type { AuthMode } from '../auth/principal.js';
import { loadSettings, pickSettingsEnvironment, type Settings } from '../config/settings.js';
import type { HandlerContext, QueueDelivery } from '../functions-host/registry.js';
import type { DirectoryClient, MimeMailSender } from '../graph/subscription-client.js';
import type { MailboxClient } from '../mailbox/mailbox-client.js';
import { createBlobQuarantineStore } from '../quarantine/index.js';
import { withQuarantineIndex } from '../quarantine/indexed-store.js';
import { QuarantineIndex } from '../quarantine/quarantine-index.js';
import { jobSchema, type Job, type JobQueue } from '../queue/jobs.js';
import { createScanPool } from '../scanning/scan-pool.js';
import { handleScanMailbox, type MailboxScanDependencies } from '../scans/mailbox-scan.js';
import { ScanStore } from '../scans/scan-store.js';
import { ScannerError, toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { ReleasedMessages } from '../quarantine/released-messages.js';
import { openStateTable, STATE_TABLES } from '../state/tables.js';
import type { ArrivalDependencies } from './arrival-context.js';
import { handleCatchUp, type CatchUpDependencies } from './catch-up.js';
import { followRuleGroups, GroupScope } from './group-scope.js';
import { HiddenFolders } from './mailbox-actions.js';
import { MessageLocks } from './message-locks.js';
import { createRuleNotifier } from './rule-notifier.js';
import { handleScanMessage } from './scan-message.js';
import { SyncStates } from './sync-states.js';
import { VerdictLog } from './verdict-log.js';

/** Services the host wires in: the mailbox client (Graph or EWS), the queue sender and API auth. */
export interface ArrivalServices {
  client: MailboxClient;
  queue: JobQueue;
  auth: AuthMode;
  /** Graph sendMail, for the notifications rules ask for. */
  mailSender?: MimeMailSender;
  /** Graph group members, for rules scoped to groups. */
  directory?: DirectoryClient;
}

let servicesFactory: (() => Promise<ArrivalServices>) | undefined;
let runtime: Promise<ArrivalRuntime> | undefined;

interface ArrivalRuntime {
  settings: Settings;
  services: ArrivalServices;
  scan: Omit<ArrivalDependencies, 'logger'>;
  catchUp: Omit<CatchUpDependencies, 'logger'>;
  mailboxScan: Omit<MailboxScanDependencies, 'logger'>;
}

/** Sets how the runtime gets its services; called once by functions/index.ts before any job. */
export function provideArrivalServices(factory: () => Promise<ArrivalServices>): void {
  servicesFactory = factory;
  runtime = undefined;
}

/**
 * Stops the runtime's scan workers and forgets it, so that the next job builds it again; for
 * tests and local runs that end. Jobs in flight resolve as unscannable, which the queue retries.
 */
export async function closeArrivalRuntime(): Promise<void> {
  const current = runtime;
  runtime = undefined;
  if (current === undefined) {
    return;
  }
  try {
    await (await current).scan.scanner.close();
  } catch {
    // A build that failed has no workers to stop.
  }
}

/**
 * Returns the settings, services and storage clients, built once per host instance. A failed
 * build is not kept, so that the next invocation tries again.
 * @throws ScannerError `config-invalid` when no services were provided or settings are invalid.
 */
export function getArrivalRuntime(): Promise<ArrivalRuntime> {
  runtime ??= buildRuntime().catch((error: unknown) => {
    runtime = undefined;
    throw error;
  });
  return runtime;
}

/**
 * Handles one message of the scan queue, which carries both scan-message and catch-up jobs.
 * @throws as {@link handleScanMessage} and {@link handleCatchUp} do.
 */
export async function handleScanQueueMessage(
  message: unknown,
  delivery: QueueDelivery,
  context: HandlerContext,
): Promise<void> {
  const { settings, services, scan, catchUp, mailboxScan } = await getArrivalRuntime();
  const logger = toLogger(context);
  const parsed = jobSchema.safeParse(message);
  // A job sent again after a transient failure is a new queue message; its attempt counts as
  // the delivery, so that the last try is recognised and recorded before the dead-letter queue.
  const attempt = parsed.success ? (parsed.data.attempt ?? 1) : 1;
  const effective = { ...delivery, deliveryCount: Math.max(delivery.deliveryCount, attempt) };
  try {
    if (parsed.success && parsed.data.kind === 'catch-up') {
      await handleCatchUp(message, effective, { ...catchUp, logger });
    } else if (parsed.success && parsed.data.kind === 'scan-mailbox') {
      await handleScanMailbox(message, effective, { ...mailboxScan, logger });
    } else {
      // Anything else, invalid jobs included, goes to the scan-message handler, which rejects them.
      await handleScanMessage(message, effective, { ...scan, logger });
    }
  } catch (error) {
    const transient = !(error instanceof ScannerError) || error.transient;
    if (!parsed.success || !transient || effective.deliveryCount >= settings.queue.maxDeliveryCount) {
      throw error;
    }
    await sendAgainLater(parsed.data, attempt, retryDelayMs(attempt, settings.queue), services.queue, logger, error);
  }
}

/** Backoff before try `attempt + 1`: the first delay doubling per try up to the longest, with jitter. */
export function retryDelayMs(attempt: number, queue: Settings['queue']): number {
  const base = Math.min(queue.retryDelayMs * 2 ** (attempt - 1), queue.maxRetryDelayMs);
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * Sends a job that failed for a passing reason back to the queue with a delay, so that a throttled
 * mailbox or a daemon that is down gets time to recover; Service Bus itself redelivers a failed
 * message at once. When the re-send fails too, the original error is thrown and the queue
 * redelivers the message without a delay.
 */
async function sendAgainLater(
  job: Job,
  attempt: number,
  delayMs: number,
  queue: JobQueue,
  logger: Logger,
  error: unknown,
): Promise<void> {
  try {
    await queue.send([{ ...job, attempt: attempt + 1 }], { delayMs });
  } catch (sendError) {
    logger.warn('could not send the job again with a delay; the queue redelivers it', {
      error: toError(sendError).message,
    });
    throw error;
  }
  logger.info('job sent again after a transient failure', {
    kind: job.kind,
    attempt: attempt + 1,
    delayMs,
    code: error instanceof ScannerError ? error.code : 'internal-error',
  });
}

async function buildRuntime(): Promise<ArrivalRuntime> {
  if (servicesFactory === undefined) {
    throw new ScannerError('config-invalid', 'The arrival services are not wired: call provideArrivalServices first');
  }
  const settings = loadSettings(process.env);
  const services = await servicesFactory();
  const logger = toLogger(undefined);
  const state = { settings: settings.state };
  const [verdicts, locks, syncStates, mailboxes, quarantineIndex, scans, releases] = await Promise.all([
    openStateTable(state, STATE_TABLES.verdicts),
    openStateTable(state, STATE_TABLES.messageLocks),
    openStateTable(state, STATE_TABLES.syncStates),
    openStateTable(state, STATE_TABLES.mailboxes),
    openStateTable(state, STATE_TABLES.quarantineIndex),
    openStateTable(state, STATE_TABLES.scans),
    openStateTable(state, STATE_TABLES.quarantineReleases),
  ]);
  const scanner = await createScanPool({
    settings,
    env: pickSettingsEnvironment(process.env),
    size: settings.workers.count,
    logger,
    // Administrator rules from MAILSWEEP_RULES_PATH, or else from the rule store.
    rules: 'store',
  });
  const messageLocks = new MessageLocks(locks);
  const ruleGroups =
    services.directory === undefined ? undefined : await followRuleGroups(settings, logger);
  const groupScope =
    services.directory === undefined || ruleGroups === undefined
      ? undefined
      : new GroupScope({
          directory: services.directory,
          ruleGroups,
          ttlMs: settings.rules.groupCacheMinutes * 60_000,
          logger,
        });
  const scanDependencies = {
    settings,
    client: services.client,
    scanner,
    // Indexed, so that the quarantine API lists an item as soon as it is quarantined.
    store: withQuarantineIndex(
      createBlobQuarantineStore({ settings: settings.quarantine, logger }),
      new QuarantineIndex(quarantineIndex),
    ),
    locks: messageLocks,
    verdictLog: new VerdictLog(verdicts),
    hiddenFolders: new HiddenFolders(services.client, settings.arrival.quarantineFolderName),
    notifier: createRuleNotifier({
      settings: settings.rules.notify,
      mailSender: services.mailSender,
      logger,
    }),
    groupScope,
    // Released messages and allowed senders, written by the quarantine API's releases.
    releases: new ReleasedMessages(releases),
  };
  return {
    settings,
    services,
    scan: scanDependencies,
    mailboxScan: {
      settings,
      client: services.client,
      store: new ScanStore(scans),
      queue: services.queue,
      arrival: scanDependencies,
      locksTable: locks,
      syncStates: new SyncStates(syncStates),
    },
    catchUp: {
      settings,
      client: services.client,
      queue: services.queue,
      locks: messageLocks,
      syncStates: new SyncStates(syncStates),
      mailboxes,
    },
  };
}

/** Adapts the invocation's log sink to the Logger of src/; without one, logs are dropped. */
function toLogger(context: HandlerContext | undefined): Logger {
  const log = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, fields?: Record<string, unknown>) =>
    context?.log(level, message, fields);
  return { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') };
}
