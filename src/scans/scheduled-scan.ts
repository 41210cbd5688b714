import type { Logger } from '../shared/logger.js';
import { startScan, type StartScanDependencies } from './start-scan.js';

/** Outcome of one run of the scheduled-scan timer. */
export type ScheduledScanResult =
  | { kind: 'not-configured' }
  | { kind: 'started'; scanId: string; mailboxes: number }
  | { kind: 'rejected'; error: string };

/**
 * Starts the scan that `MAILSWEEP_SCHEDULED_SCAN` describes. With `incremental`, each mailbox
 * folder is synced from the state its previous scheduled scan stored, so only what changed since
 * is scanned again.
 * @throws ScannerError when storage or the queue fails, so that the timer's failure is logged.
 */
export async function runScheduledScan(
  deps: StartScanDependencies,
  logger: Logger,
): Promise<ScheduledScanResult> {
  const request = deps.settings.scans.scheduledRequest;
  if (request === undefined) {
    logger.info('no scheduled scan configured (MAILSWEEP_SCHEDULED_SCAN is empty)');
    return { kind: 'not-configured' };
  }
  const result = await startScan(request, { trigger: 'scheduled', createdBy: 'scheduled-scan' }, deps);
  if (!result.ok) {
    logger.error('scheduled scan not started', { field: result.field, error: result.error });
    return { kind: 'rejected', error: result.error };
  }
  return { kind: 'started', scanId: result.scan.scanId, mailboxes: result.scan.mailboxCount };
}
