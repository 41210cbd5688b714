import { registerHttp, registerTimer, type HttpRoute } from '../src/functions-host/registry.js';
import type { QuarantineApi } from '../src/quarantine/quarantine-api.js';
import { purgeExpiredItems } from '../src/quarantine/quarantine-retention.js';
import { getQuarantineRuntime } from '../src/quarantine/quarantine-runtime.js';
import { toLogger } from '../src/realtime/services.js';

/** Largest body of a route that takes none; a larger body gets 413. */
const NO_BODY_BYTES = 1024;

/** Largest body of a single-item change (a note of 1,000 characters, 20 recipients). */
const ITEM_BODY_BYTES = 16 * 1024;

/** Largest bulk body: room for 1,000 ids; the item count is bounded by its own setting. */
const BULK_BODY_BYTES = 64 * 1024;

const handlerOf =
  (name: keyof QuarantineApi) =>
  async (...args: Parameters<QuarantineApi['list']>) =>
    (await getQuarantineRuntime()).api[name](...args);

/**
 * Registers one quarantine route. Anonymous at the host level: App Service authentication signs
 * callers in, and the handlers decide what each caller may see (src/quarantine/quarantine-access.ts).
 */
function route(
  name: string,
  methods: HttpRoute['methods'],
  path: string,
  handler: keyof QuarantineApi,
  maxBodyBytes = NO_BODY_BYTES,
): void {
  registerHttp({ name, methods, route: path, authLevel: 'anonymous', maxBodyBytes, handler: handlerOf(handler) });
}

route('list-quarantine-items', ['GET'], 'quarantine/items', 'list');
route('quarantine-item', ['GET', 'DELETE'], 'quarantine/items/{id}', 'item');
route('download-quarantine-message', ['GET'], 'quarantine/items/{id}/message', 'message');
route('release-quarantine-item', ['POST'], 'quarantine/items/{id}/release', 'release', ITEM_BODY_BYTES);
route('request-quarantine-release', ['POST'], 'quarantine/items/{id}/release-requests', 'requestRelease', ITEM_BODY_BYTES);
route('set-quarantine-legal-hold', ['PUT'], 'quarantine/items/{id}/legal-hold', 'legalHold');
route('list-release-requests', ['GET'], 'quarantine/release-requests', 'listReleaseRequests');
route('approve-release-request', ['POST'], 'quarantine/release-requests/{requestId}/approve', 'approveReleaseRequest', ITEM_BODY_BYTES);
route('deny-release-request', ['POST'], 'quarantine/release-requests/{requestId}/deny', 'denyReleaseRequest', ITEM_BODY_BYTES);
route('bulk-quarantine-action', ['POST'], 'quarantine/bulk', 'bulk', BULK_BODY_BYTES);
route('read-quarantine-audit', ['GET'], 'quarantine/audit', 'audit');

// Daily at 03:17 UTC: removes items past their expiry and records each removal in the audit log.
registerTimer({
  name: 'purge-quarantine',
  schedule: '0 17 3 * * *',
  handler: async (context) => {
    const { store, index, audit } = await getQuarantineRuntime();
    await purgeExpiredItems({ store, index, audit, logger: toLogger(context), now: new Date() });
  },
});
