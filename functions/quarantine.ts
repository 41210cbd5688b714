import { registerHttp, registerTimer } from '../src/functions-host/registry.js';
import type { QuarantineApi } from '../src/quarantine/quarantine-api.js';
import { purgeExpiredItems } from '../src/quarantine/quarantine-retention.js';
import { getQuarantineRuntime } from '../src/quarantine/quarantine-runtime.js';
import { toLogger } from '../src/realtime/services.js';

/** Largest request body; the quarantine routes take none, so only a small one is let through. */
const MAX_QUARANTINE_BODY_BYTES = 1024;

const handlerOf =
  (name: keyof QuarantineApi) =>
  async (...args: Parameters<QuarantineApi['list']>) =>
    (await getQuarantineRuntime()).api[name](...args);

// Anonymous at the host level: App Service authentication signs callers in, and the handlers
// decide what each caller may see (src/quarantine/quarantine-access.ts).
registerHttp({
  name: 'list-quarantine-items',
  methods: ['GET'],
  route: 'quarantine/items',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_QUARANTINE_BODY_BYTES,
  handler: handlerOf('list'),
});

registerHttp({
  name: 'quarantine-item',
  methods: ['GET', 'DELETE'],
  route: 'quarantine/items/{id}',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_QUARANTINE_BODY_BYTES,
  handler: handlerOf('item'),
});

registerHttp({
  name: 'download-quarantine-message',
  methods: ['GET'],
  route: 'quarantine/items/{id}/message',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_QUARANTINE_BODY_BYTES,
  handler: handlerOf('message'),
});

registerHttp({
  name: 'release-quarantine-item',
  methods: ['POST'],
  route: 'quarantine/items/{id}/release',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_QUARANTINE_BODY_BYTES,
  handler: handlerOf('release'),
});

registerHttp({
  name: 'read-quarantine-audit',
  methods: ['GET'],
  route: 'quarantine/audit',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_QUARANTINE_BODY_BYTES,
  handler: handlerOf('audit'),
});

// Daily at 03:17 UTC: removes items past their expiry and records each removal in the audit log.
registerTimer({
  name: 'purge-quarantine',
  schedule: '0 17 3 * * *',
  handler: async (context) => {
    const { store, index, audit } = await getQuarantineRuntime();
    await purgeExpiredItems({ store, index, audit, logger: toLogger(context), now: new Date() });
  },
});
