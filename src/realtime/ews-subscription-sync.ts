import { randomBytes } from 'node:crypto';

import type { FolderRef } from '../mailbox/mailbox-client.js';
import type { CatchUpJob } from '../queue/jobs.js';
import { ScannerError, toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import {
  CALLBACK_ID_PARAMETER,
  CALLBACK_SECRET_PARAMETER,
} from './ews-notification-endpoint.js';
import type { EwsPushServices } from './ews-push-services.js';
import type { EwsSubscriptionRecord } from './ews-subscription-store.js';
import { hashMailbox } from './mailbox-health.js';
import { listOnPremMailboxes, type OnPremMailbox } from './on-prem-mailboxes.js';
import { hashClientState } from './subscription-store.js';
import type { Lease } from './table-lease.js';

/**
 * A subscription without a notification or keep-alive for this many StatusFrequency periods is
 * created again. Exchange ends a subscription whose deliveries fail for one period. Its
 * documentation advises acting after two periods of silence, and the third covers a slow timer.
 */
export const STALE_AFTER_PERIODS = 3;

/** Summary of one EWS subscription sync run. */
export interface EwsSyncReport {
  /** False when EWS is not configured or another instance held the lease. */
  ran: boolean;
  subscribed: number;
  resubscribed: number;
  /** Rows deleted: mailboxes no longer on premises, and replaced subscriptions. */
  removed: number;
  failed: number;
  catchUpJobs: number;
}

/** Options of {@link runEwsSubscriptionSync}. */
export interface EwsSyncOptions {
  /** Time of the run; default the services' clock. Tests move it forward. */
  now?: Date;
}

/**
 * Runs the EWS subscription timer's work, one instance at a time (the `ews-subscription-manager`
 * lease). Every on-premises mailbox gets a push subscription: a new mailbox is subscribed, and
 * one whose subscription has been silent for {@link STALE_AFTER_PERIODS} StatusFrequency periods
 * is subscribed again. Rows of mailboxes no longer on premises are deleted, so that Exchange's
 * next notification for them gets the response Unsubscribe. Every on-premises mailbox then gets a
 * catch-up job, whose SyncFolderItems covers whatever push missed.
 * @throws ScannerError `config-invalid` when MAILSWEEP_PUBLIC_BASE_URL is not set.
 */
export async function runEwsSubscriptionSync(
  services: EwsPushServices,
  logger: Logger,
  options: EwsSyncOptions = {},
): Promise<EwsSyncReport> {
  const report: EwsSyncReport = {
    ran: false,
    subscribed: 0,
    resubscribed: 0,
    removed: 0,
    failed: 0,
    catchUpJobs: 0,
  };
  if (services.push === undefined) {
    logger.debug('EWS subscription sync skipped: MAILSWEEP_EWS_URL is not set');
    return report;
  }
  const notificationUrl = endpointUrl(services);
  const lease = await services.lease.tryAcquire();
  if (lease === undefined) {
    logger.info('EWS subscription sync skipped: the lease is held by another instance');
    return report;
  }
  report.ran = true;
  const now = options.now ?? services.realtime.now();
  try {
    const { settings, mailboxes: mailboxStore } = services.realtime;
    const mailboxes = await listOnPremMailboxes(settings, mailboxStore);
    const rows = await services.subscriptions.list();
    report.removed += await removeUnwatched(services, rows, mailboxes);
    const run = { notificationUrl, now, lease, report, logger };
    const created = await ensureAll(services, mailboxes, rows, run);
    report.catchUpJobs = await enqueueCatchUps(services, mailboxes, created, now, logger);
  } finally {
    await lease.release();
  }
  logger.info('EWS subscription sync finished', { ...report });
  return report;
}

function endpointUrl(services: EwsPushServices): string {
  const base = services.realtime.settings.subscriptions.publicBaseUrl;
  if (base === undefined) {
    throw new ScannerError(
      'config-invalid',
      'MAILSWEEP_PUBLIC_BASE_URL is not set, so Exchange has no URL to send push notifications to',
    );
  }
  return `${base.replace(/\/+$/, '')}/api/ews/notifications`;
}

async function removeUnwatched(
  services: EwsPushServices,
  rows: readonly EwsSubscriptionRecord[],
  mailboxes: readonly OnPremMailbox[],
): Promise<number> {
  const watched = new Set(mailboxes.map((entry) => entry.mailbox));
  let removed = 0;
  for (const row of rows) {
    if (!watched.has(row.mailbox)) {
      await services.subscriptions.delete(row.callbackId);
      removed += 1;
    }
  }
  return removed;
}

/** Facts of one sync run that every mailbox's step uses. */
interface SyncRun {
  notificationUrl: string;
  now: Date;
  lease: Lease;
  report: EwsSyncReport;
  logger: Logger;
}

async function ensureAll(
  services: EwsPushServices,
  mailboxes: readonly OnPremMailbox[],
  rows: readonly EwsSubscriptionRecord[],
  { notificationUrl, now, lease, report, logger }: SyncRun,
): Promise<Set<string>> {
  const created = new Set<string>();
  for (const { mailbox } of mailboxes) {
    if (!(await lease.keep())) {
      logger.error('EWS subscription sync stopped: the lease was lost to another instance');
      break;
    }
    const own = rows.filter((row) => row.mailbox === mailbox);
    const live = own.find((row) => isLive(row, services, now));
    if (live !== undefined) {
      report.removed += await deleteRows(services, own, live);
      continue;
    }
    logReplaced(own, services, now, logger);
    try {
      const row = await subscribe(services, mailbox, notificationUrl, now);
      report.removed += await deleteRows(services, own, row);
      if (own.length > 0) {
        report.resubscribed += 1;
      } else {
        report.subscribed += 1;
      }
      created.add(mailbox);
    } catch (error) {
      // One mailbox's failure never stops the run; its catch-up job still covers it.
      report.failed += 1;
      logger.error('EWS push subscription failed for one mailbox', {
        mailboxHash: hashMailbox(mailbox),
        code: error instanceof ScannerError ? error.code : 'unexpected',
        ewsCode: error instanceof ScannerError ? error.fields.ewsCode : undefined,
        error: toError(error).message,
      });
    }
  }
  return created;
}

/** Logs why a mailbox's newest subscription is replaced: silence, or a new StatusFrequency. */
function logReplaced(
  rows: readonly EwsSubscriptionRecord[],
  services: EwsPushServices,
  now: Date,
  logger: Logger,
): void {
  const newest = rows
    .filter((row) => row.subscriptionId !== undefined)
    .sort((a, b) => Date.parse(b.lastSeenAt) - Date.parse(a.lastSeenAt))[0];
  if (newest === undefined) return;
  const fields = {
    mailboxHash: hashMailbox(newest.mailbox),
    subscriptionId: newest.subscriptionId,
  };
  if (newest.statusFrequencyMinutes !== services.realtime.settings.ews.pushStatusFrequencyMinutes) {
    logger.info('EWS push StatusFrequency changed; subscribing again', fields);
    return;
  }
  logger.warn('EWS push subscription went silent; subscribing again', {
    ...fields,
    silentMinutes: Math.round((now.getTime() - Date.parse(newest.lastSeenAt)) / 60_000),
  });
}

/** True for a subscription with the configured StatusFrequency that has been heard recently. */
function isLive(row: EwsSubscriptionRecord, services: EwsPushServices, now: Date): boolean {
  const frequency = services.realtime.settings.ews.pushStatusFrequencyMinutes;
  if (row.subscriptionId === undefined || row.statusFrequencyMinutes !== frequency) {
    return false;
  }
  const silentMs = now.getTime() - Date.parse(row.lastSeenAt);
  return silentMs <= STALE_AFTER_PERIODS * frequency * 60_000;
}

/**
 * Writes the row, then subscribes, then stores the SubscriptionId on the row. The row exists
 * before Exchange can send the first notification, so that notification is not unsubscribed.
 */
async function subscribe(
  services: EwsPushServices,
  mailbox: string,
  notificationUrl: string,
  now: Date,
): Promise<EwsSubscriptionRecord> {
  const push = services.push;
  if (push === undefined) {
    throw new ScannerError('config-invalid', 'EWS is not configured: set MAILSWEEP_EWS_URL');
  }

  const settings = services.realtime.settings;
  const callbackId = randomBytes(16).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const row: EwsSubscriptionRecord = {
    callbackId,
    mailbox,
    secretHash: hashClientState(secret),
    statusFrequencyMinutes: settings.ews.pushStatusFrequencyMinutes,
    createdAt: now.toISOString(),
    lastSeenAt: now.toISOString(),
  };
  await services.subscriptions.put(row);

  const url = new URL(notificationUrl);
  url.searchParams.set(CALLBACK_ID_PARAMETER, callbackId);
  url.searchParams.set(CALLBACK_SECRET_PARAMETER, secret);
  const folders: FolderRef[] = [
    { wellKnown: 'inbox' },
    ...settings.arrival.catchUpFolders.map((wellKnown) => ({ wellKnown })),
  ];

  try {
    const created = await push.subscribe({
      mailbox,
      folders,
      url: url.toString(),
      statusFrequencyMinutes: settings.ews.pushStatusFrequencyMinutes,
    });
    await services.subscriptions.attach(callbackId, created.subscriptionId);
    return { ...row, subscriptionId: created.subscriptionId, watermark: created.watermark };
  } catch (error) {
    await services.subscriptions.delete(callbackId);
    throw error;
  }
}

/** Deletes a mailbox's rows other than `keep`. Exchange's next notification to them ends them. */
async function deleteRows(
  services: EwsPushServices,
  rows: readonly EwsSubscriptionRecord[],
  keep: EwsSubscriptionRecord,
): Promise<number> {
  let deleted = 0;
  for (const row of rows) {
    if (row.callbackId !== keep.callbackId) {
      await services.subscriptions.delete(row.callbackId);
      deleted += 1;
    }
  }
  return deleted;
}

/**
 * Enqueues a catch-up job for every on-premises mailbox the Graph sync does not already cover:
 * reason `subscription-created` for a mailbox subscribed in this run, `timer` for the rest.
 */
async function enqueueCatchUps(
  services: EwsPushServices,
  mailboxes: readonly OnPremMailbox[],
  created: ReadonlySet<string>,
  now: Date,
  logger: Logger,
): Promise<number> {
  const enqueuedAt = now.toISOString();
  const jobs: CatchUpJob[] = mailboxes
    .filter((entry) => !entry.graphCatchesUp)
    .map((entry) => ({
      kind: 'catch-up',
      mailbox: entry.mailbox,
      reason: created.has(entry.mailbox) ? 'subscription-created' : 'timer',
      enqueuedAt,
    }));
  if (jobs.length === 0) return 0;
  try {
    await services.realtime.queue.send(jobs);
    return jobs.length;
  } catch (error) {
    logger.error('Enqueueing EWS catch-up jobs failed', {
      jobs: jobs.length,
      error: toError(error).message,
    });
    return 0;
  }
}
