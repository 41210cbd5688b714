import { loadSettings, type Settings } from '../config/settings.js';
import type { JobQueue } from '../queue/jobs.js';
import type { QueueMonitor } from '../queue/queue-monitor.js';
import { createRealtimeServices } from './compose.js';
import type { GraphSubscriptionClients, RealtimeServices } from './services.js';

/** Builds the Graph clients from settings; undefined when Graph is not configured. */
export type GraphClientsFactory = (settings: Settings) => GraphSubscriptionClients | undefined;

/** Opens the scan queue the endpoints send to. */
export type ScanQueueFactory = (settings: Settings) => { queue: JobQueue; monitor: QueueMonitor };

let graphFactory: GraphClientsFactory | undefined;
let queueFactory: ScanQueueFactory | undefined;
let services: Promise<RealtimeServices> | undefined;
let override: RealtimeServices | undefined;

/**
 * Wires in the Graph clients; call it before the first request (src/app/wiring.ts does). A
 * factory that returns undefined leaves Graph unconfigured, and the endpoints that need it
 * return 503.
 */
export function provideGraphClients(factory: GraphClientsFactory): void {
  graphFactory = factory;
  services = undefined;
}

/**
 * Makes the endpoints send to the given scan queue, so that the sender and the consumer share
 * one instance. Without it, the endpoints open the queue that the settings name.
 */
export function provideScanQueue(factory: ScanQueueFactory): void {
  queueFactory = factory;
  services = undefined;
}

/** Makes every function use the given services (tests and the local host), or clears that. */
export function overrideRealtimeServices(replacement: RealtimeServices | undefined): void {
  override = replacement;
}

/**
 * Returns the services of this host instance, built once from the environment. A failed build
 * is not kept, so the next request tries again.
 */
export function realtimeServices(
  env: Record<string, string | undefined>,
): Promise<RealtimeServices> {
  if (override !== undefined) {
    return Promise.resolve(override);
  }
  services ??= build(env).catch((error: unknown) => {
    services = undefined;
    throw error;
  });
  return services;
}

async function build(env: Record<string, string | undefined>): Promise<RealtimeServices> {
  const settings = loadSettings(env);
  return createRealtimeServices(settings, {
    graph: graphFactory?.(settings),
    queue: queueFactory?.(settings),
  });
}
