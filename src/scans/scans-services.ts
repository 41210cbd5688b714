import { realtimeServices } from '../realtime/provider.js';
import type { Logger } from '../shared/logger.js';
import { openStateTable, STATE_TABLES } from '../state/tables.js';
import { ScanStore } from './scan-store.js';
import type { StartScanDependencies } from './start-scan.js';

/**
 * Builds the services of the scans endpoints and the scheduled scan from the real-time services
 * of this host instance (settings, monitored mailboxes, scan queue, Graph directory) and the
 * `scans` table.
 */
export async function openScansServices(
  env: Record<string, string | undefined>,
  logger: Logger,
): Promise<StartScanDependencies> {
  const realtime = await realtimeServices(env);
  const table = await openStateTable({ settings: realtime.settings.state }, STATE_TABLES.scans);
  return {
    settings: realtime.settings,
    store: new ScanStore(table),
    queue: realtime.queue,
    listMonitoredMailboxes: async () => (await realtime.mailboxes.list()).map((record) => record.mailbox),
    directory: realtime.graph?.directory,
    logger,
    now: () => realtime.now(),
  };
}
