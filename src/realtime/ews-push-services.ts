import type { TableClient } from '@azure/data-tables';

import type { Settings } from '../config/settings.js';
import type { EwsPushClient } from '../ews/ews-push.js';
import { openStateTable, STATE_TABLES } from '../state/tables.js';
import { EwsSubscriptionStore } from './ews-subscription-store.js';
import { realtimeServices } from './provider.js';
import type { RealtimeServices } from './services.js';
import { TableLease } from './table-lease.js';

/**
 * Name of the lease row that serializes EWS subscription changes. It is not the Graph manager's
 * row, so that the two timers, which fire at the same minute, do not skip each other.
 */
export const EWS_MANAGER_LEASE_NAME = 'ews-subscription-manager';

/** How long the EWS manager lease lasts without renewal, in milliseconds. */
const EWS_MANAGER_LEASE_MS = 5 * 60_000;

/** Services of the EWS notification endpoint and the EWS subscription timer. */
export interface EwsPushServices {
  realtime: RealtimeServices;
  subscriptions: EwsSubscriptionStore;
  lease: TableLease;
  /** Undefined when no EWS URL is configured; then the timer does nothing. */
  push?: EwsPushClient;
}

/** Builds the push client from settings; undefined when EWS is not configured. */
export type EwsPushClientFactory = (settings: Settings) => EwsPushClient | undefined;

let pushFactory: EwsPushClientFactory | undefined;
let services: Promise<EwsPushServices> | undefined;
let override: EwsPushServices | undefined;

/** Wires in the EWS push client; src/app/wiring.ts calls it before the first request. */
export function provideEwsPushClient(factory: EwsPushClientFactory): void {
  pushFactory = factory;
  services = undefined;
}

/** Makes every function use the given services (tests), or clears that. */
export function overrideEwsPushServices(replacement: EwsPushServices | undefined): void {
  override = replacement;
}

/** Options of {@link createEwsPushServices}. */
export interface EwsPushServicesOptions {
  push?: EwsPushClient;
  /** Tables to use instead of the state tables (tests use tables of their own). */
  tables?: { ewsSubscriptions: TableClient; leases: TableClient };
}

/** Builds the EWS push services on top of the real-time services. */
export async function createEwsPushServices(
  realtime: RealtimeServices,
  options: EwsPushServicesOptions = {},
): Promise<EwsPushServices> {
  const tables = options.tables ?? (await openTables(realtime.settings));
  return {
    realtime,
    subscriptions: new EwsSubscriptionStore(tables.ewsSubscriptions),
    lease: new TableLease(tables.leases, EWS_MANAGER_LEASE_NAME, EWS_MANAGER_LEASE_MS),
    push: options.push,
  };
}

/**
 * Returns the services of this host instance, built once from the environment. A failed build
 * is not kept, so the next request tries again.
 */
export function ewsPushServices(env: Record<string, string | undefined>): Promise<EwsPushServices> {
  if (override !== undefined) {
    return Promise.resolve(override);
  }
  services ??= build(env).catch((error: unknown) => {
    services = undefined;
    throw error;
  });
  return services;
}

async function build(env: Record<string, string | undefined>): Promise<EwsPushServices> {
  const realtime = await realtimeServices(env);
  return createEwsPushServices(realtime, { push: pushFactory?.(realtime.settings) });
}

async function openTables(settings: Settings) {
  const options = { settings: settings.state };
  const [ewsSubscriptions, leases] = await Promise.all([
    openStateTable(options, STATE_TABLES.ewsSubscriptions),
    openStateTable(options, STATE_TABLES.leases),
  ]);
  return { ewsSubscriptions, leases };
}
