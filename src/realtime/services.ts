import type { Settings } from '../config/settings.js';
import type { DirectoryClient, SubscriptionClient } from '../graph/subscription-client.js';
import type { HandlerContext } from '../functions-host/registry.js';
import type { JobQueue } from '../queue/jobs.js';
import type { QueueMonitor } from '../queue/queue-monitor.js';
import { ScannerError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { MailboxStore } from './mailbox-store.js';
import type { SubscriptionCache, SubscriptionStore } from './subscription-store.js';
import type { TableLease } from './table-lease.js';

/** Looks up the Entra object id of a mailbox's user, which Graph uses in notifications. */
export interface UserIdResolver {
  resolveUserId(mailbox: string): Promise<string>;
}

/** Graph clients the subscription manager calls. */
export interface GraphSubscriptionClients {
  subscriptions: SubscriptionClient;
  directory: DirectoryClient;
  /** Optional: without it, the first authenticated notification pins the user's object id. */
  users?: UserIdResolver;
}

/** Everything the real-time endpoints and timers use; built once per host instance. */
export interface RealtimeServices {
  settings: Settings;
  mailboxes: MailboxStore;
  subscriptions: SubscriptionStore;
  subscriptionCache: SubscriptionCache;
  /** Serializes subscription changes across instances. */
  managerLease: TableLease;
  queue: JobQueue;
  queueMonitor: QueueMonitor;
  /** Graph clients; undefined until wired in, and then the endpoints that need them fail. */
  graph?: GraphSubscriptionClients;
  /** Retry delays of subscription creation and renewal, in milliseconds. */
  retryDelaysMs: readonly number[];
  /** Current time; tests move it. */
  now(): Date;
}

/** Message of the error and the 503 answer when no Graph client is wired in. */
export const GRAPH_NOT_CONFIGURED =
  'Graph is not configured: set MAILSWEEP_GRAPH_TENANT_ID and MAILSWEEP_GRAPH_CLIENT_ID';

/**
 * Returns the Graph clients.
 * @throws ScannerError `config-invalid` when none are wired in.
 */
export function requireGraph(services: RealtimeServices): GraphSubscriptionClients {
  if (services.graph === undefined) {
    throw new ScannerError('config-invalid', GRAPH_NOT_CONFIGURED);
  }
  return services.graph;
}

/** Adapts a handler's log sink to the Logger interface that src/ modules take. */
export function toLogger(context: HandlerContext): Logger {
  return {
    error: (message, fields) => context.log('error', message, fields),
    warn: (message, fields) => context.log('warn', message, fields),
    info: (message, fields) => context.log('info', message, fields),
    debug: (message, fields) => context.log('debug', message, fields),
  };
}
