import { registerHttp } from '../src/functions-host/registry.js';
import { handleGraphLifecycle } from '../src/realtime/lifecycle-endpoint.js';
import { NotificationClock } from '../src/realtime/notification-clock.js';
import { MAX_NOTIFICATION_BODY_BYTES } from '../src/realtime/notification-payload.js';
import { realtimeServices } from '../src/realtime/provider.js';

const clock = new NotificationClock();

// Anonymous, because Graph cannot sign in; each item is authenticated by its clientState.
registerHttp({
  name: 'receive-graph-lifecycle',
  methods: ['POST'],
  route: 'graph/lifecycle',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_NOTIFICATION_BODY_BYTES,
  handler: (request, context) =>
    handleGraphLifecycle(request, context, () => realtimeServices(process.env), clock),
});
