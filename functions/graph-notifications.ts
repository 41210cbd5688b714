import { registerHttp } from '../src/functions-host/registry.js';
import { handleGraphNotifications } from '../src/realtime/notification-endpoint.js';
import { MAX_NOTIFICATION_BODY_BYTES } from '../src/realtime/notification-payload.js';
import { NotificationClock } from '../src/realtime/notification-clock.js';
import { realtimeServices } from '../src/realtime/provider.js';

const clock = new NotificationClock();

// Anonymous, because Graph cannot sign in; each item is authenticated by its clientState.
registerHttp({
  name: 'receive-graph-notifications',
  methods: ['POST'],
  route: 'graph/notifications',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_NOTIFICATION_BODY_BYTES,
  handler: (request, context) =>
    handleGraphNotifications(request, context, () => realtimeServices(process.env), clock),
});
