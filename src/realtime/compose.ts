import type { TableClient } from '@azure/data-tables';
import { DefaultAzureCredential } from '@azure/identity';

import type { Settings } from '../config/settings.js';
import { SCAN_QUEUE_NAME, type JobQueue } from '../queue/jobs.js';
import { getLocalQueue } from '../queue/local-queues.js';
import type { QueueMonitor } from '../queue/queue-monitor.js';
import {
  createServiceBusJobQueue,
  createServiceBusQueueMonitor,
} from '../queue/service-bus-queue.js';
import type { Logger } from '../shared/logger.js';
import { openStateTable, STATE_TABLES } from '../state/tables.js';
import { MailboxStore } from './mailbox-store.js';
import type { GraphSubscriptionClients, RealtimeServices } from './services.js';
import { SubscriptionCache, SubscriptionStore } from './subscription-store.js';
import { TableLease } from './table-lease.js';

/** Name of the lease row that serializes subscription changes. */
export const MANAGER_LEASE_NAME = 'subscription-manager';

/** How long the manager lease lasts without renewal, in milliseconds. */
const MANAGER_LEASE_MS = 5 * 60_000;

/** Delays between attempts to create or renew a subscription, in milliseconds. */
const DEFAULT_RETRY_DELAYS_MS = [2000, 10_000, 30_000];

/** Options of {@link createRealtimeServices}; each part defaults to what the settings name. */
export interface RealtimeServicesOptions {
  graph?: GraphSubscriptionClients;
  queue?: { queue: JobQueue; monitor: QueueMonitor };
  /** Tables to use instead of the state tables (tests use tables of their own). */
  tables?: { mailboxes: TableClient; subscriptions: TableClient; leases: TableClient };
  retryDelaysMs?: readonly number[];
  now?: () => Date;
  logger?: Logger;
}

/** Builds the real-time services: state tables, the scan queue and the Graph clients. */
export async function createRealtimeServices(
  settings: Settings,
  options: RealtimeServicesOptions = {},
): Promise<RealtimeServices> {
  const tables = options.tables ?? (await openTables(settings));
  const queue = options.queue ?? openScanQueue(settings, options.logger);
  const subscriptions = new SubscriptionStore(tables.subscriptions);
  return {
    settings,
    mailboxes: new MailboxStore(tables.mailboxes),
    subscriptions,
    subscriptionCache: new SubscriptionCache(subscriptions),
    managerLease: new TableLease(tables.leases, MANAGER_LEASE_NAME, MANAGER_LEASE_MS),
    queue: queue.queue,
    queueMonitor: queue.monitor,
    graph: options.graph,
    retryDelaysMs: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
    now: options.now ?? (() => new Date()),
  };
}

/** Opens the scan queue: Service Bus when configured, this process's in-process queue otherwise. */
export function openScanQueue(
  settings: Settings,
  logger?: Logger,
): { queue: JobQueue; monitor: QueueMonitor } {
  const { serviceBusConnectionString, serviceBusNamespace, serviceBusClientId, maxDeliveryCount } =
    settings.queue;
  if (serviceBusConnectionString !== undefined || serviceBusNamespace !== undefined) {
    const target = {
      connectionString: serviceBusConnectionString,
      fullyQualifiedNamespace: serviceBusNamespace,
      queueName: SCAN_QUEUE_NAME,
      credential:
        serviceBusClientId === undefined
          ? undefined
          : new DefaultAzureCredential({ managedIdentityClientId: serviceBusClientId }),
    };
    return {
      queue: createServiceBusJobQueue(target),
      monitor: createServiceBusQueueMonitor(target),
    };
  }
  const local = getLocalQueue(SCAN_QUEUE_NAME, { maxDeliveryCount, logger });
  return { queue: local, monitor: local };
}

async function openTables(settings: Settings) {
  const options = { settings: settings.state };
  const [mailboxes, subscriptions, leases] = await Promise.all([
    openStateTable(options, STATE_TABLES.mailboxes),
    openStateTable(options, STATE_TABLES.subscriptions),
    openStateTable(options, STATE_TABLES.leases),
  ]);
  return { mailboxes, subscriptions, leases };
}
