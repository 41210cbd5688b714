import { toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { QuarantineAuditLog } from './quarantine-audit.js';
import type { QuarantineIndex } from './quarantine-index.js';
import { removeQuarantineItem } from './quarantine-removal.js';
import type { QuarantineStore } from './quarantine-types.js';

/**
 * Most items one retention run removes. At a few storage requests per item this keeps a run well
 * inside the Functions timeout; the next run continues where this one stopped.
 */
export const MAX_PURGED_PER_RUN = 2000;

/** Dependencies of {@link purgeExpiredItems}. */
export interface RetentionOptions {
  store: QuarantineStore;
  index: QuarantineIndex;
  audit: QuarantineAuditLog;
  logger: Logger;
  now: Date;
  /** Most items removed in this run; default {@link MAX_PURGED_PER_RUN}. */
  maxItems?: number;
}

/** Counts of one retention run. */
export interface RetentionResult {
  purged: number;
  failed: number;
}

/**
 * Removes every indexed item whose `expiresAt` is at or before `now`, and appends a `purge` entry
 * per item to the audit log, with actor `system:retention`. A failure on one item is logged and
 * counted, and the run goes on, so one bad item cannot block the rest. The next run tries it again.
 *
 * An item's expiry is fixed when it is stored, from the retention days of its category. An item
 * on legal hold is skipped, however long ago it expired.
 */
export async function purgeExpiredItems(options: RetentionOptions): Promise<RetentionResult> {
  const { store, index, audit, logger, now } = options;
  const expired = await index.listExpired(now, options.maxItems ?? MAX_PURGED_PER_RUN);
  let purged = 0;
  let failed = 0;
  for (const item of expired) {
    try {
      // The hold may have been set after the listing; it is read again right before removal.
      if (await index.isOnHold(item.rowKey)) {
        continue;
      }
      await removeQuarantineItem(store, index, item);
      purged += 1;
      await audit.append({
        time: new Date().toISOString(),
        actorId: 'system:retention',
        actorRole: 'system',
        action: 'purge',
        quarantineId: item.id,
        result: 'ok',
      });
    } catch (error) {
      failed += 1;
      logger.error('Quarantine item could not be purged', {
        quarantineId: item.id,
        error: toError(error).message,
      });
    }
  }
  logger.info('Quarantine retention run finished', { purged, failed, candidates: expired.length });
  return { purged, failed };
}
