import { getArrivalRuntime } from '../arrival/arrival-runtime.js';
import { toAuthMode } from '../auth/require-admin.js';
import { wiredUserAddressDirectory } from '../auth/user-address-provider.js';
import { CachedUserAddressDirectory, type UserAddressDirectory } from '../auth/user-addresses.js';
import { loadSettings, type Settings } from '../config/settings.js';
import { isGraphConfigured } from '../graph/create-graph-client.js';
import { silentLogger } from '../shared/logger.js';
import { openStateTable, STATE_TABLES } from '../state/tables.js';
import { createBlobQuarantineStore } from './blob-quarantine-store.js';
import { withQuarantineIndex } from './indexed-store.js';
import { createQuarantineApi, type QuarantineApi } from './quarantine-api.js';
import { QuarantineAuditLog } from './quarantine-audit.js';
import { QuarantineIndex } from './quarantine-index.js';
import type { QuarantineStore } from './quarantine-types.js';
import { ReleasedMessages } from './released-messages.js';
import { ReleaseRequestStore } from './release-requests.js';

/** The services the quarantine functions share within one host instance. */
export interface QuarantineRuntime {
  settings: Settings;
  /** The blob store, wrapped so that every put also writes the index. */
  store: QuarantineStore;
  index: QuarantineIndex;
  audit: QuarantineAuditLog;
  api: QuarantineApi;
  /** A user's addresses from the directory, cached; undefined when Graph is not configured. */
  userAddresses?: UserAddressDirectory;
}

let runtime: Promise<QuarantineRuntime> | undefined;

/**
 * Returns the quarantine store, index, audit log and API handlers, built once from the
 * environment. A failed build is not kept, so the next invocation tries again.
 * @throws ScannerError `config-invalid` for invalid settings or missing storage.
 */
export function getQuarantineRuntime(): Promise<QuarantineRuntime> {
  runtime ??= buildRuntime().catch((error: unknown) => {
    runtime = undefined;
    throw error;
  });
  return runtime;
}

async function buildRuntime(): Promise<QuarantineRuntime> {
  const settings = loadSettings(process.env);
  const state = { settings: settings.state };
  const [indexTable, auditTable, releasesTable, requestsTable] = await Promise.all([
    openStateTable(state, STATE_TABLES.quarantineIndex),
    openStateTable(state, STATE_TABLES.quarantineAudit),
    openStateTable(state, STATE_TABLES.quarantineReleases),
    openStateTable(state, STATE_TABLES.releaseRequests),
  ]);
  const index = new QuarantineIndex(indexTable);
  const audit = new QuarantineAuditLog(auditTable);
  // The store's own logger only reports puts and deletes; the handlers log through the host.
  const blobStore = createBlobQuarantineStore({
    settings: settings.quarantine,
    logger: silentLogger,
  });
  const store = withQuarantineIndex(blobStore, index);
  // Without Graph settings users own only their sign-in address, as documented, with no warning.
  const userAddresses = isGraphConfigured(settings)
    ? new CachedUserAddressDirectory(wiredUserAddressDirectory(), {
        ttlMinutes: settings.auth.userAddressCacheMinutes,
      })
    : undefined;
  const api = createQuarantineApi({
    userAddresses,
    store,
    index,
    audit,
    auth: toAuthMode(settings.auth),
    limits: settings.limits,
    releaseRequests: new ReleaseRequestStore(requestsTable),
    releasedMessages: new ReleasedMessages(releasesTable),
    maxBulkItems: settings.quarantine.maxBulkItems,
    // The mailbox client is the one the scan consumers use (Graph or EWS, wired by the host).
    releaseTarget: async () => {
      const arrival = await getArrivalRuntime();
      return {
        client: arrival.services.client,
        hiddenFolderName: arrival.settings.arrival.quarantineFolderName,
      };
    },
  });
  return { settings, store, index, audit, api, userAddresses };
}
