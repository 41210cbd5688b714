import { getArrivalRuntime } from '../src/arrival/arrival-runtime.js';
import { createVerdictsHandler } from '../src/arrival/verdicts-api.js';
import { registerHttp, type ApiHandler } from '../src/functions-host/registry.js';
import { openStateTable, STATE_TABLES } from '../src/state/tables.js';

let handler: Promise<ApiHandler> | undefined;

async function buildHandler(): Promise<ApiHandler> {
  const { settings, services } = await getArrivalRuntime();
  const table = await openStateTable({ settings: settings.state }, STATE_TABLES.verdicts);
  return createVerdictsHandler({ table, auth: services.auth });
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
