import type { CatchUpJob } from '../queue/jobs.js';
import { toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { logMailboxProblems } from './mailbox-health.js';
import type { MailboxRecord } from './mailbox-store.js';
import { requireGraph, type RealtimeServices } from './services.js';
import { SubscriptionManager, type EnsureOutcome } from './subscription-manager.js';
import type { Lease } from './table-lease.js';

/** Summary of one sync run. */
export interface SyncReport {
  /** False when another instance held the lease, so this run did nothing. */
  ran: boolean;
  outcomes: Partial<Record<EnsureOutcome, number>>;
  orphansDeleted: number;
  catchUpJobs: number;
  unhealthyMailboxes: number;
}

/**
 * Runs the subscription timer's work. It brings group memberships up to date and gives every
 * monitored mailbox a live subscription (create, renew or recreate). It deletes subscriptions that
 * no mailbox row refers to, enqueues a catch-up job for every mailbox Graph serves, and logs
 * mailboxes that notifications do not cover. Only the holder of the manager lease runs, so a
 * second instance started at the same time returns at once with `ran: false`.
 * @throws ScannerError `config-invalid` when no Graph client or public base URL is configured.
 */
export async function runSubscriptionSync(
  services: RealtimeServices,
  logger: Logger,
): Promise<SyncReport> {
  const report: SyncReport = {
    ran: false,
    outcomes: {},
    orphansDeleted: 0,
    catchUpJobs: 0,
    unhealthyMailboxes: 0,
  };
  // Fails the run before any mailbox is touched when Graph or the public URL is not configured,
  // so that a configuration error is not retried and recorded once per mailbox.
  const manager = new SubscriptionManager(services, logger);
  requireGraph(services);
  manager.endpointUrl('graph/notifications');

  const lease = await services.managerLease.tryAcquire();
  if (lease === undefined) {
    logger.info('Subscription sync skipped: another instance holds the lease');
    return report;
  }
  report.ran = true;
  try {
    await syncAllGroups(services, logger);
    const listed = await listSubscriptionIds(services, manager, logger);
    const created = await ensureAll(services, manager, listed?.ids, lease, report, logger);
    if (listed !== undefined) {
      report.orphansDeleted = await deleteOrphans(services, manager, listed.ours);
    }
    const records = await services.mailboxes.list();
    report.catchUpJobs = await enqueueCatchUps(services, records, created, logger);
    const silentAfterMs = services.settings.subscriptions.silentMailboxHours * 3_600_000;
    report.unhealthyMailboxes = logMailboxProblems(records, services.now(), silentAfterMs, logger);
  } finally {
    await lease.release();
  }
  logger.info('Subscription sync finished', {
    ...report.outcomes,
    orphansDeleted: report.orphansDeleted,
    catchUpJobs: report.catchUpJobs,
    unhealthyMailboxes: report.unhealthyMailboxes,
  });
  return report;
}

/**
 * Updates the mailboxes of every monitored group. A group whose listing fails keeps its members,
 * so that a Graph outage never stops monitoring.
 */
export async function syncAllGroups(services: RealtimeServices, logger: Logger): Promise<void> {
  for (const group of await services.mailboxes.listGroups()) {
    try {
      await syncGroup(services, group.groupId, logger);
    } catch (error) {
      logger.error("Listing a group's mailboxes failed; its members stay as they were", {
        groupId: group.groupId,
        error: toError(error).message,
      });
    }
  }
}

/** Adds a group's current members and drops the mailboxes that only it had added. */
export async function syncGroup(
  services: RealtimeServices,
  groupId: string,
  logger: Logger,
): Promise<number> {
  const members = new Set(
    (await requireGraph(services).directory.listGroupMailboxes(groupId)).map((m) =>
      m.toLowerCase(),
    ),
  );
  const now = services.now();
  for (const mailbox of members) {
    await services.mailboxes.add(mailbox, { groupId }, now);
  }
  const manager = new SubscriptionManager(services, logger);
  for (const record of await services.mailboxes.list()) {
    if (!record.groupIds.includes(groupId) || members.has(record.mailbox)) {
      continue;
    }
    await dropGroupFromMailbox(services, manager, record, groupId);
  }
  await services.mailboxes.putGroup({
    groupId,
    addedAt: now.toISOString(),
    lastSyncedAt: now.toISOString(),
    memberCount: members.size,
  });
  return members.size;
}

/** Removes one group from a mailbox; a mailbox left with no source stops being monitored. */
export async function dropGroupFromMailbox(
  services: RealtimeServices,
  manager: SubscriptionManager,
  record: MailboxRecord,
  groupId: string,
): Promise<void> {
  let current: MailboxRecord | undefined = record;
  while (current !== undefined) {
    const groupIds = current.groupIds.filter((id) => id !== groupId);
    if (!current.directlyAdded && groupIds.length === 0) {
      await manager.remove(current);
      return;
    }
    if (await services.mailboxes.update(current, { groupIds })) {
      return;
    }
    current = await services.mailboxes.get(record.mailbox);
  }
}

async function listSubscriptionIds(
  services: RealtimeServices,
  manager: SubscriptionManager,
  logger: Logger,
): Promise<{ ids: Set<string>; ours: string[] } | undefined> {
  try {
    const notificationUrl = manager.endpointUrl('graph/notifications');
    const listed = await requireGraph(services).subscriptions.listSubscriptions();
    return {
      ids: new Set(listed.map((subscription) => subscription.id)),
      ours: listed.filter((s) => s.notificationUrl === notificationUrl).map((s) => s.id),
    };
  } catch (error) {
    // Without the listing, only the stored expiry shows which subscriptions are gone.
    logger.warn('Listing subscriptions failed; relying on stored expiry', {
      error: toError(error).message,
    });
    return undefined;
  }
}

async function ensureAll(
  services: RealtimeServices,
  manager: SubscriptionManager,
  listedIds: ReadonlySet<string> | undefined,
  lease: Lease,
  report: SyncReport,
  logger: Logger,
): Promise<Set<string>> {
  const created = new Set<string>();
  for (const record of await services.mailboxes.list()) {
    if (!(await lease.keep())) {
      logger.error('Subscription sync stopped: the lease was lost to another instance');
      break;
    }
    let outcome: EnsureOutcome;
    try {
      outcome = await manager.ensure(record, listedIds);
    } catch (error) {
      // One mailbox's failure never aborts the run for the others.
      logger.error('Subscription sync failed for one mailbox', { error: toError(error).message });
      outcome = 'failed';
    }
    report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
    if (outcome === 'created') {
      created.add(record.mailbox);
    }
  }
  return created;
}

/** Deletes subscriptions on this app's notification URL that no mailbox row refers to. */
async function deleteOrphans(
  services: RealtimeServices,
  manager: SubscriptionManager,
  ours: readonly string[],
): Promise<number> {
  const referenced = new Set((await services.mailboxes.list()).map((r) => r.subscriptionId));
  let deleted = 0;
  for (const id of ours) {
    if (!referenced.has(id)) {
      await manager.deleteQuietly(id);
      deleted += 1;
    }
  }
  for (const row of await services.subscriptions.list()) {
    if (!referenced.has(row.subscriptionId)) {
      await services.subscriptions.delete(row.subscriptionId);
    }
  }
  return deleted;
}

/**
 * Enqueues a catch-up job for each mailbox Graph serves: reason `subscription-created` for one
 * whose subscription this run created, so that mail from before the subscription is swept, and
 * `timer` for the rest, which covers notifications Graph never sent.
 */
async function enqueueCatchUps(
  services: RealtimeServices,
  records: readonly MailboxRecord[],
  created: ReadonlySet<string>,
  logger: Logger,
): Promise<number> {
  const enqueuedAt = services.now().toISOString();
  const jobs: CatchUpJob[] = records
    .filter((record) => record.state !== 'on-premises')
    .map((record) => ({
      kind: 'catch-up',
      mailbox: record.mailbox,
      reason: created.has(record.mailbox) ? 'subscription-created' : 'timer',
      enqueuedAt,
    }));
  if (jobs.length === 0) return 0;
  try {
    await services.queue.send(jobs);
    return jobs.length;
  } catch (error) {
    logger.error('Enqueueing catch-up jobs failed', {
      jobs: jobs.length,
      error: toError(error).message,
    });
    return 0;
  }
}
