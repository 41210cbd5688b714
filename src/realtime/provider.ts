import { loadSettings, type Settings } from '../config/settings.js';
import { createRealtimeServices } from './compose.js';
import type { GraphSubscriptionClients, RealtimeServices } from './services.js';

let graphFactory: ((settings: Settings) => GraphSubscriptionClients) | undefined;
let services: Promise<RealtimeServices> | undefined;
let override: RealtimeServices | undefined;

/** Wires in the Graph clients; call it before the first request (functions/index.ts does). */
export function provideGraphClients(
  factory: (settings: Settings) => GraphSubscriptionClients,
): void {
  graphFactory = factory;
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
  return createRealtimeServices(settings, { graph: graphFactory?.(settings) });
}
