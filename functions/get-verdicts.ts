import { createVerdictsHandler } from '../src/arrival/verdicts-api.js';
import { toAuthMode } from '../src/auth/require-admin.js';
import { loadSettings } from '../src/config/settings.js';
import { registerHttp, type ApiHandler } from '../src/functions-host/registry.js';
import { openStateTable, STATE_TABLES } from '../src/state/tables.js';

let handler: Promise<ApiHandler> | undefined;

// Reads only the verdict table and the auth settings, so that the log stays readable when Graph
// is not configured.
async function buildHandler(): Promise<ApiHandler> {
  const settings = loadSettings(process.env);
  const table = await openStateTable({ settings: settings.state }, STATE_TABLES.verdicts);
  return createVerdictsHandler({ table, auth: toAuthMode(settings.auth) });
}

// GET /api/verdicts: the verdict log, for administrators (src/arrival/verdicts-api.ts).
registerHttp({
  name: 'get-verdicts',
  methods: ['GET'],
  route: 'verdicts',
  authLevel: 'anonymous',
  maxBodyBytes: 0,
  handler: async (request, context) => {
    handler ??= buildHandler().catch((error: unknown) => {
      handler = undefined;
      throw error;
    });
    return (await handler)(request, context);
  },
});
