import type { TableClient } from '@azure/data-tables';

import type { ArrivalDependencies } from '../arrival/arrival-context.js';
import type { MessageLocks } from '../arrival/message-locks.js';
import type { SyncStates } from '../arrival/sync-states.js';
import { toLockKey, toMailboxKey } from '../arrival/table-keys.js';
import type { Settings } from '../config/settings.js';
import type { QueueDelivery } from '../functions-host/registry.js';
import type { FolderRef, MailboxClient, MailboxMessageRef, WellKnownFolder } from '../mailbox/mailbox-client.js';
import { scanMailboxJobSchema, type JobQueue, type ScanMailboxJob } from '../queue/jobs.js';
import { ScannerError, toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { listScanLockVerdicts, readArrivalVerdicts } from './arrival-verdicts.js';
import { describeScanError, toScanErrorCode } from './scan-errors.js';
import { scanLockPartition, ScanLocks } from './scan-locks.js';
import { scanOneMessage, toScanItemKey, type MessageStepContext } from './scan-one-message.js';
import type { ScanDefinition } from './scan-request.js';
import {
  ProgressConflictError,
  type MailboxProgress,
  type PlannedFolder,
  type ProgressRow,
  type ScanItem,
  type ScanRecord,
  type ScanStore,
} from './scan-store.js';

/** Folder of a report row rebuilt from the scan's lock, whose folder was not recorded. */
const RECOVERED_FOLDER = '(recovered from the scan lock)';

/** Well-known folder names a request may use in `folders`. */
const WELL_KNOWN_NAMES: ReadonlySet<string> = new Set(['inbox', 'junkemail', 'deleteditems', 'sentitems']);

/** Prefix of a planned folder id that is a well-known name rather than a store id. */
const WELL_KNOWN_PREFIX = 'wk:';

/** Dependencies of the scan-mailbox consumer. */
export interface MailboxScanDependencies {
  settings: Settings;
  client: MailboxClient;
  store: ScanStore;
  queue: JobQueue;
  /** The scan-on-arrival consumer's dependencies; act mode runs it with the scan's own locks. */
  arrival: Omit<ArrivalDependencies, 'logger'>;
  /** The `messagelocks` table, for the scan's own locks. */
  locksTable: TableClient;
  /** Sync states of incremental scans, kept apart from the catch-up's by their partition. */
  syncStates: SyncStates;
  logger: Logger;
  now?: () => number;
  /** Called after each message's report row is stored; a throw stops the job there (tests). */
  afterMessage?: (item: ScanItem) => void | Promise<void>;
}

/** Outcome of one scan-mailbox job. */
export type MailboxScanResult =
  /** Every folder was scanned. */
  | 'done'
  /** The mailbox could not be scanned; the progress row has the error code. */
  | 'failed'
  | 'cancelled'
  /** The time budget ran out: the checkpoint is saved and the job was sent again. */
  | 'yielded'
  /** Another invocation wrote the progress row; this one stopped. */
  | 'superseded'
  /** The scan or the mailbox's progress row does not exist, or the mailbox is already finished. */
  | 'skipped';

/**
 * Handles one scan-mailbox job: plans the mailbox's folders on its first run, then pages through
 * each folder's messages over the scan's window, newest first, scanning each message once and
 * saving a checkpoint after every page. Messages done are the scan's report rows, loaded when a
 * job starts, so that a job resumed after a timeout, crash or redeploy skips them.
 * @throws ScannerError `input-unreadable` for an invalid job, and transient errors (throttling,
 *   Table storage, queue) before the last delivery, so that the queue delivers the job again.
 */
export async function handleScanMailbox(
  message: unknown,
  delivery: QueueDelivery,
  deps: MailboxScanDependencies,
): Promise<MailboxScanResult> {
  const parsed = scanMailboxJobSchema.safeParse(message);
  if (!parsed.success) {
    const paths = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))];
    deps.logger.error('invalid scan-mailbox job', { issues: paths.join(',') });
    throw new ScannerError('input-unreadable', 'Invalid scan-mailbox job', { fields: { issues: paths.join(',') } });
  }
  const job = parsed.data;
  const scan = await deps.store.get(job.scanId);
  const row = await deps.store.readProgress(job.scanId, job.mailbox);
  if (scan === undefined || row === undefined) {
    deps.logger.warn('scan-mailbox job for an unknown scan or mailbox; dropped', { scanId: job.scanId });
    return 'skipped';
  }
  if (['done', 'failed', 'cancelled'].includes(row.progress.status)) {
    return 'skipped';
  }
  const run = new MailboxScanRun(job, scan, row, deps);
  try {
    const result = await run.execute();
    deps.logger.info('scan-mailbox finished a run', { scanId: job.scanId, result, ...run.counts() });
    return result;
  } catch (error) {
    if (error instanceof ProgressConflictError) {
      deps.logger.warn('scan-mailbox progress written by another invocation; stopped', { scanId: job.scanId });
      return 'superseded';
    }
    const transient = !(error instanceof ScannerError) || error.transient;
    const lastTry = delivery.deliveryCount >= deps.settings.queue.maxDeliveryCount;
    if (transient && !lastTry) {
      deps.logger.warn('scan-mailbox failed; the queue retries it', {
        scanId: job.scanId,
        code: toScanErrorCode(error),
        error: toError(error).message,
      });
      throw error;
    }
    await run.fail(error);
    return 'failed';
  }
}

/** One run of a mailbox's scan job, from its checkpoint until done, cancelled or out of time. */
class MailboxScanRun {
  private readonly started: number;
  private readonly mailboxKey: string;
  private readonly definition: ScanDefinition;
  private readonly done = new Set<string>();
  private progress: MailboxProgress;
  private row: ProgressRow;

  constructor(
    private readonly job: ScanMailboxJob,
    private readonly scan: ScanRecord,
    row: ProgressRow,
    private readonly deps: MailboxScanDependencies,
  ) {
    this.started = this.now();
    this.mailboxKey = toMailboxKey(job.mailbox);
    this.definition = scan.definition;
    this.row = row;
    this.progress = { ...row.progress };
  }

  counts(): Record<string, number> {
    return { scanned: this.progress.scanned, skipped: this.progress.skipped, errors: this.progress.errors };
  }

  async execute(): Promise<MailboxScanResult> {
    await this.loadDone();
    if (this.progress.folders === undefined) {
      const planned = await this.planFolders();
      this.progress.folders = planned.folders;
      this.progress.notes = planned.notes;
    }
    this.progress.status = 'running';
    this.progress.startedAt ??= new Date(this.now()).toISOString();
    await this.save();

    const folders = this.progress.folders ?? [];
    while (this.progress.folderIndex < folders.length) {
      const folder = folders[this.progress.folderIndex] as PlannedFolder;
      const stop = this.definition.incremental
        ? await this.scanFolderIncrementally(folder)
        : await this.scanFolderWindow(folder);
      if (stop !== undefined) {
        return stop;
      }
      this.progress.folderIndex += 1;
      this.progress.before = undefined;
      await this.save();
    }
    this.progress.status = 'done';
    this.progress.finishedAt = new Date(this.now()).toISOString();
    await this.save();
    return 'done';
  }

  /** Records a mailbox-level failure with its code. A failed write is logged, not thrown. */
  async fail(error: unknown): Promise<void> {
    const code = toScanErrorCode(error);
    this.progress.status = 'failed';
    this.progress.errorCode = code;
    this.progress.errorMessage = describeScanError(code);
    this.progress.finishedAt = new Date(this.now()).toISOString();
    this.deps.logger.warn('scan-mailbox failed for the mailbox', {
      scanId: this.job.scanId,
      code,
      error: toError(error).message,
    });
    try {
      await this.save();
    } catch (saveError) {
      this.deps.logger.error('could not record a mailbox scan failure', {
        scanId: this.job.scanId,
        error: toError(saveError).message,
      });
    }
  }

  /** Lists the folder's messages page by page over the window, newest first, from the cursor. */
  private async scanFolderWindow(folder: PlannedFolder): Promise<MailboxScanResult | undefined> {
    const { since, until, byModifiedTime } = this.definition;
    const pageSize = this.deps.settings.scans.pageSize;
    // Messages at the cursor's millisecond that are already done come back at the top of the next
    // listing. Asking for that many more keeps a full page to one listing request in most cases.
    let doneAtCursor = this.progress.before === undefined ? 0 : 1;
    for (;;) {
      const stop = await this.checkStop();
      if (stop !== undefined) {
        return stop;
      }
      // A page is listed completely before any message is acted on, and the next page is a new
      // listing that starts below the oldest message seen. Moving messages out of the folder
      // therefore never shifts an unseen message past an offset, as following a `$skip` link would.
      const page: MailboxMessageRef[] = [];
      let exhausted = true;
      const listing = this.deps.client.listMessages(this.job.mailbox, {
        folder: toFolderRef(folder),
        receivedAfter: byModifiedTime ? undefined : new Date(since),
        modifiedAfter: byModifiedTime ? new Date(since) : undefined,
        receivedBefore: new Date(this.progress.before ?? until),
        pageSize: pageSize + doneAtCursor,
      });
      for await (const ref of listing) {
        if (ref.isDraft === true || this.done.has(toScanItemKey(ref))) {
          continue;
        }
        page.push(ref);
        if (page.length >= pageSize) {
          exhausted = false;
          break;
        }
      }
      await this.scanPage(page, folder);
      const oldest = oldestReceived(page);
      if (oldest !== undefined) {
        // Messages received at exactly the oldest time may continue on the next page, so the next
        // listing includes that millisecond and skips the ones already done.
        this.progress.before = new Date(oldest + 1).toISOString();
        doneAtCursor = page.filter((ref) => receivedTime(ref) === oldest).length;
      }
      if (exhausted) {
        return undefined;
      }
      await this.save();
    }
  }

  /**
   * Scans what changed in the folder since the mailbox's previous incremental scan, and stores the
   * new sync state once every change is done. Without a state, the first run scans the window.
   */
  private async scanFolderIncrementally(folder: PlannedFolder): Promise<MailboxScanResult | undefined> {
    const stateKey = `scan-${this.mailboxKey}`;
    const ref = toFolderRef(folder);
    const stored = await this.deps.syncStates.read(stateKey, ref);
    let result;
    if (stored === undefined || stored === 'unreadable') {
      result = await this.deps.client.syncFolder(this.job.mailbox, ref);
    } else {
      try {
        result = await this.deps.client.syncFolder(this.job.mailbox, ref, stored);
      } catch (error) {
        if (!(error instanceof ScannerError) || error.transient || error.code === 'mailbox-on-premises') {
          throw error;
        }
        this.deps.logger.warn('stored scan sync state rejected; running a full sync', { code: error.code });
        result = await this.deps.client.syncFolder(this.job.mailbox, ref);
      }
    }

    const since = Date.parse(this.definition.since);
    const firstRun = stored === undefined || stored === 'unreadable' || result.resynced === true;
    const pending = result.changed.filter(
      (item) =>
        item.isDraft !== true &&
        !this.done.has(toScanItemKey(item)) &&
        !(firstRun && item.receivedAt !== undefined && Date.parse(item.receivedAt) < since),
    );

    const pageSize = this.deps.settings.scans.pageSize;
    for (let start = 0; start < pending.length; start += pageSize) {
      const stop = await this.checkStop();
      if (stop !== undefined) {
        return stop;
      }
      await this.scanPage(pending.slice(start, start + pageSize), folder);
      await this.save();
    }
    await this.deps.syncStates.write(stateKey, ref, result.state, new Date(this.now()));
    return undefined;
  }

  /**
   * Scans one page's messages, a few at a time. Act mode stores each report row as soon as its
   * message is done. Report mode stores the page's rows in one transaction at the end of the page,
   * which saves a Table storage request per message. A crash before that write makes the resumed
   * job scan that page's messages again, which changes nothing in the mailbox and replaces no row
   * twice. Act mode cannot wait for the page. The scan's lock keeps a message from being acted
   * on twice, but a message moved out of the scanned folders or deleted is not listed again, so a
   * crash before its row is written would lose the row.
   */
  private async scanPage(page: readonly MailboxMessageRef[], folder: PlannedFolder): Promise<void> {
    const context: MessageStepContext = {
      mailbox: this.job.mailbox,
      mailboxKey: this.mailboxKey,
      folderPath: folder.path,
      mode: this.definition.mode,
      retro: this.definition.retro,
      trigger: this.scan.trigger === 'scheduled' ? 'scheduled' : 'on-demand',
    };
    const arrival = {
      ...this.deps.arrival,
      locks: new ScanLocks(this.deps.locksTable, this.job.scanId),
      logger: this.deps.logger,
    };
    const arrivalVerdicts = this.definition.retro
      ? undefined
      : await readArrivalVerdicts(
          this.deps.locksTable,
          this.mailboxKey,
          page.flatMap((ref) =>
            ref.internetMessageId === undefined ? [] : [toLockKey({ internetMessageId: ref.internetMessageId })],
          ),
        );
    const queue = [...page];
    const batched = this.definition.mode === 'report';
    const finished = new Map<string, ScanItem>();
    let failure: unknown;
    const worker = async (): Promise<void> => {
      for (let ref = queue.shift(); ref !== undefined && failure === undefined; ref = queue.shift()) {
        const key = toScanItemKey(ref);
        if (this.done.has(key)) {
          continue;
        }
        // Claimed before the await, so a second copy of the message in this page is not scanned.
        this.done.add(key);
        try {
          const { item, lockKey } = await scanOneMessage(ref, context, {
            arrival,
            arrivalLocks: this.deps.arrival.locks,
            arrivalVerdicts,
            logger: this.deps.logger,
          });
          // A copy this scan moved (to Junk Email, say) has a new item id but the same lock: it
          // keeps the row of the message it came from.
          const rowKey = lockKey ?? key;
          if (rowKey !== key && this.done.has(rowKey)) {
            continue;
          }
          this.done.add(rowKey);
          if (batched) {
            finished.set(rowKey, item);
            continue;
          }
          // A crash between the action and this write is repaired when the job resumes: the
          // scan's lock records the verdict, and loadDone rebuilds the row from it.
          await this.deps.store.writeItem(this.job.scanId, this.mailboxKey, rowKey, item);
          this.count(item);
          await this.deps.afterMessage?.(item);
        } catch (error) {
          failure ??= error;
        }
      }
    };
    const workers = Math.max(1, this.deps.settings.scans.messageConcurrency);
    await Promise.all(Array.from({ length: workers }, () => worker()));
    if (finished.size > 0) {
      await this.storeRows(finished);
    }
    if (failure !== undefined) {
      throw failure;
    }
  }

  /** Stores report rows in one batch, then counts them. */
  private async storeRows(rows: ReadonlyMap<string, ScanItem>): Promise<void> {
    await this.deps.store.writeItems(this.job.scanId, this.mailboxKey, rows);
    for (const item of rows.values()) {
      this.count(item);
    }
    for (const item of rows.values()) {
      await this.deps.afterMessage?.(item);
    }
  }

  /** Stops for a cancelled scan, or checkpoints and sends the job again when out of time. */
  private async checkStop(): Promise<MailboxScanResult | undefined> {
    const current = await this.deps.store.get(this.job.scanId);
    if (current === undefined || current.status === 'cancelled') {
      this.progress.status = 'cancelled';
      this.progress.finishedAt = new Date(this.now()).toISOString();
      await this.save();
      return 'cancelled';
    }
    if (this.now() - this.started < this.deps.settings.scans.jobBudgetMs) {
      return undefined;
    }
    this.progress.segments += 1;
    await this.save();
    await this.deps.queue.send([
      {
        kind: 'scan-mailbox',
        scanId: this.job.scanId,
        mailbox: this.job.mailbox,
        segment: this.job.segment + 1,
        enqueuedAt: new Date(this.now()).toISOString(),
      },
    ]);
    return 'yielded';
  }

  /**
   * Loads the messages this mailbox's scan already finished and recounts the counters from them.
   * In act mode, a crash between an action and its row write leaves a message without a row. Its
   * row is rebuilt from the scan's lock, because the action may have moved the message out of the
   * folders the scan lists.
   */
  private async loadDone(): Promise<void> {
    const items = await this.deps.store.readItems(this.job.scanId, this.mailboxKey);
    if (this.definition.mode === 'act') {
      const locks = await listScanLockVerdicts(this.deps.locksTable, scanLockPartition(this.mailboxKey, this.job.scanId));
      const recovered = new Map<string, ScanItem>();
      for (const lock of locks) {
        if (!items.has(lock.lockKey)) {
          recovered.set(lock.lockKey, {
            mailbox: this.job.mailbox,
            folder: RECOVERED_FOLDER,
            receivedAt: lock.receivedAt,
            outcome: 'acted',
            category: lock.category,
            action: lock.action,
            rule: lock.signatures,
            quarantineId: lock.quarantineId,
            scannedAt: new Date(this.now()).toISOString(),
          });
        }
      }
      if (recovered.size > 0) {
        await this.deps.store.writeItems(this.job.scanId, this.mailboxKey, recovered);
        for (const [key, item] of recovered) {
          items.set(key, item);
        }
      }
    }
    this.progress.scanned = 0;
    this.progress.skipped = 0;
    this.progress.errors = 0;
    this.progress.byCategory = {};
    for (const [key, item] of items) {
      this.done.add(key);
      this.count(item);
    }
  }

  private count(item: ScanItem): void {
    if (item.outcome === 'error') {
      this.progress.errors += 1;
      return;
    }
    if (item.outcome === 'skipped') {
      this.progress.skipped += 1;
      return;
    }
    this.progress.scanned += 1;
    const category = item.category ?? 'unscannable';
    this.progress.byCategory[category] = (this.progress.byCategory[category] ?? 0) + 1;
  }

  /** Lists the folders the scan covers: all of them, or the named ones. */
  private async planFolders(): Promise<{ folders: PlannedFolder[]; notes: string[] }> {
    const { folders: wanted, includeArchive, includeRecoverableItems } = this.definition;
    const listing = await this.deps.client.listFolders(this.job.mailbox, {
      includeArchive,
      includeRecoverableItems,
    });
    const notes = listing.unreachable.map((kind) => `${kind}-unreachable`);
    const quarantineName = this.deps.settings.arrival.quarantineFolderName.toLowerCase();
    const available = listing.folders.filter((folder) => folder.path.toLowerCase() !== quarantineName);
    if (wanted === 'all') {
      return { folders: available.map(({ id, path }) => ({ id, path })), notes };
    }
    const folders: PlannedFolder[] = [];
    for (const name of wanted) {
      const lower = name.toLowerCase();
      if (WELL_KNOWN_NAMES.has(lower)) {
        folders.push({ id: `${WELL_KNOWN_PREFIX}${lower}`, path: lower });
        continue;
      }
      const matches = available.filter(
        (folder) => folder.path.toLowerCase() === lower || folder.displayName.toLowerCase() === lower,
      );
      if (matches.length === 0) {
        notes.push('folder-not-found');
      }
      folders.push(...matches.map(({ id, path }) => ({ id, path })));
    }
    // Archive and Recoverable Items folders named in the request are kept only when included.
    return { folders: [...new Map(folders.map((folder) => [folder.id, folder])).values()], notes };
  }

  private async save(): Promise<void> {
    this.progress.updatedAt = new Date(this.now()).toISOString();
    this.row = await this.deps.store.writeProgress(this.row, { ...this.progress });
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }
}

function toFolderRef(folder: PlannedFolder): FolderRef {
  return folder.id.startsWith(WELL_KNOWN_PREFIX)
    ? { wellKnown: folder.id.slice(WELL_KNOWN_PREFIX.length) as WellKnownFolder }
    : { folderId: folder.id };
}

function receivedTime(ref: MailboxMessageRef): number {
  return ref.receivedAt === undefined ? Number.NaN : Date.parse(ref.receivedAt);
}

function oldestReceived(page: readonly MailboxMessageRef[]): number | undefined {
  let oldest: number | undefined;
  for (const ref of page) {
    const time = receivedTime(ref);
    if (Number.isFinite(time) && (oldest === undefined || time < oldest)) {
      oldest = time;
    }
  }
  return oldest;
}
