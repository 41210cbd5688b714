import { registerHttp } from '../src/functions-host/registry.js';
import { createStaticFilesHandler } from '../src/webui/static-files.js';
import { getSessionApi } from '../src/webui/webui-runtime.js';

// The web interface's files carry no data, so they are served to anyone who reaches the app; in
// Azure, App Service authentication signs the browser in before any route runs.
registerHttp({
  name: 'web-ui',
  // HEAD lets uptime probes check the interface without downloading it.
  methods: ['GET', 'HEAD'],
  route: 'ui/{*path}',
  authLevel: 'anonymous',
  maxBodyBytes: 0,
  handler: createStaticFilesHandler(),
});

registerHttp({
  name: 'quarantine-whoami',
  methods: ['GET'],
  route: 'quarantine/whoami',
  authLevel: 'anonymous',
  maxBodyBytes: 0,
  handler: async (request, context) => (await getSessionApi()).whoami(request, context),
});

registerHttp({
  name: 'quarantine-counts',
  methods: ['GET'],
  route: 'quarantine/counts',
  authLevel: 'anonymous',
  maxBodyBytes: 0,
  handler: async (request, context) => (await getSessionApi()).counts(request, context),
});
