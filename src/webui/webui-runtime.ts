import { toAuthMode } from '../auth/require-admin.js';
import { getQuarantineRuntime } from '../quarantine/quarantine-runtime.js';
import { openStateTable, STATE_TABLES } from '../state/tables.js';
import { createSessionApi, type SessionApi } from './session-api.js';

let sessionApi: Promise<SessionApi> | undefined;

/**
 * Returns the web interface's API handlers, built once on the quarantine runtime's settings and
 * audit log. A failed build is not kept, so the next request tries again.
 */
export function getSessionApi(): Promise<SessionApi> {
  sessionApi ??= buildSessionApi().catch((error: unknown) => {
    sessionApi = undefined;
    throw error;
  });
  return sessionApi;
}

async function buildSessionApi(): Promise<SessionApi> {
  const { settings, audit, userAddresses } = await getQuarantineRuntime();
  const indexTable = await openStateTable(
    { settings: settings.state },
    STATE_TABLES.quarantineIndex,
  );
  return createSessionApi({ auth: toAuthMode(settings.auth), indexTable, audit, userAddresses });
}
