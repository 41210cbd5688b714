import { registerHttp } from '../src/functions-host/registry.js';
import { realtimeServices } from '../src/realtime/provider.js';
import { handleStatus } from '../src/realtime/status-api.js';

// Anonymous at the host level: App Service authentication signs callers in, and the handler
// admits administrators and readers.
registerHttp({
  name: 'get-status',
  methods: ['GET'],
  route: 'status',
  authLevel: 'anonymous',
  maxBodyBytes: 0,
  handler: (request, context) =>
    handleStatus(request, context, () => realtimeServices(process.env)),
});
