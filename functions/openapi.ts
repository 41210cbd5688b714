import { createOpenApiHandler } from '../src/app/openapi.js';
import { toAuthMode } from '../src/auth/require-admin.js';
import { loadSettings } from '../src/config/settings.js';
import { registerHttp } from '../src/functions-host/registry.js';

/** Largest body of this GET route; a larger body gets 413. */
const NO_BODY_BYTES = 1024;

let handler: ReturnType<typeof createOpenApiHandler> | undefined;

// Anonymous at the host level: the handler serves signed-in callers only (src/app/openapi.ts).
registerHttp({
  name: 'get-openapi-document',
  methods: ['GET'],
  route: 'openapi.json',
  authLevel: 'anonymous',
  maxBodyBytes: NO_BODY_BYTES,
  handler: async (request, context) => {
    handler ??= createOpenApiHandler(toAuthMode(loadSettings(process.env).auth));
    return handler(request, context);
  },
});
