import type { TableClient } from '@azure/data-tables';

import type { Settings } from '../config/settings.js';
import type { QueueDelivery } from '../functions-host/registry.js';
import type { FolderRef, FolderSyncResult, MailboxClient, MailboxMessageRef } from '../mailbox/mailbox-client.js';
import { normalizeMailbox } from '../quarantine/quarantine-id.js';
import { catchUpJobSchema, type CatchUpJob, type JobQueue, type ScanMessageJob } from '../queue/jobs.js';
import { ScannerError, toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { isFinal, type MessageLocks } from './message-locks.js';
import type { SyncStates } from './sync-states.js';
import { toLockKey, toMailboxKey, toTableError } from './table-keys.js';

/** Jobs per send to the queue, so that one send stays well under a Service Bus batch's size limit. */
const SEND_BATCH_SIZE = 100;

const HOUR_MS = 60 * 60 * 1000;

/** Dependencies of the catch-up consumer, built once per host instance. */
export interface CatchUpDependencies {
  settings: Settings;
  client: MailboxClient;
  queue: JobQueue;
  locks: MessageLocks;
  syncStates: SyncStates;
  /** The `mailboxes` table, whose rows get `lastCatchUpAt`. */
  mailboxes: TableClient;
  logger: Logger;
  now?: () => Date;
}

/** Counts of one catch-up run, for the summary log line and the tests. */
export interface CatchUpSummary {
  folders: number;
  changed: number;
  enqueued: number;
  /** Items already in the verdict log, drafts, and (on a full sync) items older than the window. */
  skipped: number;
  fullSyncs: number;
  /** Set when the mailbox could not be synced at all and the job was finished without retry. */
  unavailable?: 'mailbox-not-found' | 'mailbox-on-premises';
}

/**
 * Handles one catch-up job: syncs the Inbox and the configured folders from their stored states,
 * enqueues a scan-message job for every changed item that mailsweep has not already finished,
 * stores each new state only after its jobs are on the queue, and writes `lastCatchUpAt`. A
 * missing, unreadable or rejected state means a full sync of the folder, limited to messages
 * received within the full-sync window.
 * @throws ScannerError `input-unreadable` for an invalid job, and transient errors for a retry.
 */
export async function handleCatchUp(
  message: unknown,
  delivery: QueueDelivery,
  deps: CatchUpDependencies,
): Promise<CatchUpSummary> {
  const parsed = catchUpJobSchema.safeParse(message);
  if (!parsed.success) {
    const paths = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))];
    deps.logger.error('invalid catch-up job', { issues: paths.join(','), deliveryCount: delivery.deliveryCount });
    throw new ScannerError('input-unreadable', 'Invalid catch-up job', { fields: { issues: paths.join(',') } });
  }
  const job = parsed.data;
  const summary: CatchUpSummary = { folders: 0, changed: 0, enqueued: 0, skipped: 0, fullSyncs: 0 };
  const folders: FolderRef[] = [
    { wellKnown: 'inbox' },
    ...deps.settings.arrival.catchUpFolders.map((wellKnown) => ({ wellKnown })),
  ];
  const fields = { mailboxHash: toMailboxKey(job.mailbox).slice(0, 16), reason: job.reason };
  try {
    for (const folder of folders) {
      await catchUpFolder(job, folder, summary, deps);
    }
  } catch (error) {
    if (error instanceof ScannerError && (error.code === 'mailbox-not-found' || error.code === 'mailbox-on-premises')) {
      deps.logger.warn('catch-up cannot reach the mailbox; not retried', { ...fields, code: error.code });
      return { ...summary, unavailable: error.code };
    }
    deps.logger.warn('catch-up failed', { ...fields, error: toError(error).message, deliveryCount: delivery.deliveryCount });
    throw error;
  }
  await writeLastCatchUp(job, deps);
  deps.logger.info('catch-up finished', { ...fields, ...summary });
  return summary;
}

async function catchUpFolder(
  job: CatchUpJob,
  folder: FolderRef,
  summary: CatchUpSummary,
  deps: CatchUpDependencies,
): Promise<void> {
  const mailboxKey = toMailboxKey(job.mailbox);
  const stored = await deps.syncStates.read(mailboxKey, folder);
  const { result, fullSync } = await syncFromState(job.mailbox, folder, stored, deps);
  const now = (deps.now ?? (() => new Date()))();
  const cutoff = fullSync ? now.getTime() - deps.settings.arrival.fullSyncHours * HOUR_MS : undefined;

  const jobs: ScanMessageJob[] = [];
  for (const item of result.changed) {
    if (await shouldSkip(item, mailboxKey, cutoff, deps.locks)) {
      summary.skipped += 1;
      continue;
    }
    jobs.push({ kind: 'scan-message', mailbox: job.mailbox, messageId: item.id, trigger: 'catch-up', enqueuedAt: now.toISOString() });
  }
  for (let start = 0; start < jobs.length; start += SEND_BATCH_SIZE) {
    await deps.queue.send(jobs.slice(start, start + SEND_BATCH_SIZE));
  }
  // Only now is the new state safe to keep: every change it covers is on the queue.
  await deps.syncStates.write(mailboxKey, folder, result.state, now);

  summary.folders += 1;
  summary.changed += result.changed.length;
  summary.enqueued += jobs.length;
  summary.fullSyncs += fullSync ? 1 : 0;
}

/**
 * Runs one sync. When the store rejects a stored state with a permanent error (an expired or
 * reset Graph delta token, an invalid EWS sync state), the folder is synced again from scratch.
 */
async function syncFromState(
  mailbox: string,
  folder: FolderRef,
  stored: string | 'unreadable' | undefined,
  deps: CatchUpDependencies,
): Promise<{ result: FolderSyncResult; fullSync: boolean }> {
  if (stored === undefined || stored === 'unreadable') {
    if (stored === 'unreadable') {
      deps.logger.warn('stored sync state unreadable; running a full sync', { mailboxHash: toMailboxKey(mailbox).slice(0, 16) });
    }
    return { result: await deps.client.syncFolder(mailbox, folder), fullSync: true };
  }
  try {
    return { result: await deps.client.syncFolder(mailbox, folder, stored), fullSync: false };
  } catch (error) {
    // NOTE: the error code of a rejected state (Graph returns 410 Gone, EWS an
    // ErrorInvalidSyncStateData fault) is the mailbox client's choice. So every permanent code
    // except an on-premises mailbox is read as "state rejected" here.
    const stateRejected =
      error instanceof ScannerError && !error.transient && error.code !== 'mailbox-on-premises';
    if (!stateRejected) {
      throw error;
    }
    deps.logger.warn('stored sync state rejected; running a full sync', {
      mailboxHash: toMailboxKey(mailbox).slice(0, 16),
      code: error.code,
    });
    return { result: await deps.client.syncFolder(mailbox, folder), fullSync: true };
  }
}

async function shouldSkip(
  item: MailboxMessageRef,
  mailboxKey: string,
  cutoff: number | undefined,
  locks: MessageLocks,
): Promise<boolean> {
  if (item.isDraft === true) {
    return true;
  }
  if (cutoff !== undefined && item.receivedAt !== undefined && Date.parse(item.receivedAt) < cutoff) {
    return true;
  }
  const byItem = await locks.findByItem(mailboxKey, item.id);
  if (byItem !== undefined && isFinal(byItem)) {
    return true;
  }
  if (item.internetMessageId === undefined) {
    return false;
  }
  const byMessage = await locks.read(mailboxKey, toLockKey({ internetMessageId: item.internetMessageId }));
  return byMessage !== undefined && isFinal(byMessage);
}

/** Merges `lastCatchUpAt` into the mailbox's row; the subscription manager owns its other fields. */
async function writeLastCatchUp(job: CatchUpJob, deps: CatchUpDependencies): Promise<void> {
  const now = (deps.now ?? (() => new Date()))();
  try {
    await deps.mailboxes.upsertEntity(
      { partitionKey: 'mailbox', rowKey: normalizeMailbox(job.mailbox), lastCatchUpAt: now.toISOString() },
      'Merge',
    );
  } catch (error) {
    throw toTableError(error, 'mailbox row merge');
  }
}
