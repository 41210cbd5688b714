import type { Settings } from '../config/settings.js';
import type { DirectoryClient } from '../graph/subscription-client.js';
import type { JobQueue, ScanMailboxJob } from '../queue/jobs.js';
import { ScannerError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { checkScanRequest, type ScanDefinition } from './scan-request.js';
import { ScanStore, type ScanRecord } from './scan-store.js';

/** Jobs per send, so one send stays well under a Service Bus batch's size limit. */
const SEND_BATCH_SIZE = 100;

/** Services that starting a scan needs. */
export interface StartScanDependencies {
  settings: Settings;
  store: ScanStore;
  queue: JobQueue;
  /** Monitored mailboxes (the `mailboxes` table). */
  listMonitoredMailboxes: () => Promise<string[]>;
  /** Group members; undefined when Graph is not configured. */
  directory?: DirectoryClient;
  logger: Logger;
  now: () => Date;
}

/** Origin of a scan: its trigger and the principal that started it. */
export interface ScanOrigin {
  trigger: ScanRecord['trigger'];
  createdBy: string;
}

/** The started scan, or why the request was rejected. */
export type StartScanResult =
  | { ok: true; scan: ScanRecord }
  | { ok: false; status: 400 | 503; field?: string; error: string };

/**
 * Starts a scan: checks the request, resolves its scope to mailboxes, stores the scan with a
 * progress row per mailbox, and sends one scan-mailbox job per mailbox to the scan queue.
 * @throws ScannerError `blob-unavailable` or `queue-unavailable` when storage or the queue fails.
 */
export async function startScan(
  body: unknown,
  origin: ScanOrigin,
  deps: StartScanDependencies,
): Promise<StartScanResult> {
  const now = deps.now();
  const check = checkScanRequest(body, now, deps.settings.scans.maxWindowDays);
  if (!check.ok) {
    return { ok: false, status: 400, field: check.field, error: `${check.field} ${check.message}` };
  }
  const resolved = await resolveScope(check.definition, deps);
  if (!resolved.ok) {
    return resolved;
  }
  const mailboxes = resolved.mailboxes;
  if (mailboxes.length === 0) {
    return { ok: false, status: 400, field: 'scope', error: 'scope names no mailboxes' };
  }

  const scan: ScanRecord = {
    scanId: ScanStore.newScanId(now),
    definition: check.definition,
    status: 'running',
    trigger: origin.trigger,
    createdAt: now.toISOString(),
    createdBy: origin.createdBy,
    mailboxCount: mailboxes.length,
  };
  await deps.store.create(scan, mailboxes);
  const jobs: ScanMailboxJob[] = mailboxes.map((mailbox) => ({
    kind: 'scan-mailbox',
    scanId: scan.scanId,
    mailbox,
    segment: 0,
    enqueuedAt: now.toISOString(),
  }));
  for (let start = 0; start < jobs.length; start += SEND_BATCH_SIZE) {
    await deps.queue.send(jobs.slice(start, start + SEND_BATCH_SIZE));
  }
  deps.logger.info('scan started', {
    scanId: scan.scanId,
    trigger: origin.trigger,
    mailboxes: mailboxes.length,
    mode: scan.definition.mode,
  });
  return { ok: true, scan };
}

async function resolveScope(
  definition: ScanDefinition,
  deps: StartScanDependencies,
): Promise<{ ok: true; mailboxes: string[] } | { ok: false; status: 400 | 503; field: string; error: string }> {
  const { scope } = definition;
  if ('mailboxes' in scope) {
    return { ok: true, mailboxes: unique(scope.mailboxes) };
  }
  if ('all' in scope) {
    const monitored = await deps.listMonitoredMailboxes();
    return { ok: true, mailboxes: unique([...monitored, ...deps.settings.hybrid.onPremMailboxes]) };
  }
  if (deps.directory === undefined) {
    return {
      ok: false,
      status: 503,
      field: 'scope.group',
      error: 'Graph is not configured, so group members cannot be read',
    };
  }
  try {
    return { ok: true, mailboxes: unique(await deps.directory.listGroupMailboxes(scope.group)) };
  } catch (error) {
    if (error instanceof ScannerError && error.code === 'mailbox-not-found') {
      return { ok: false, status: 400, field: 'scope.group', error: 'scope.group was not found in the directory' };
    }
    throw error;
  }
}

function unique(mailboxes: readonly string[]): string[] {
  return [...new Set(mailboxes.map((mailbox) => mailbox.toLowerCase()))];
}
