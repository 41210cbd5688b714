import { registerHttp } from '../src/functions-host/registry.js';
import {
  handleEwsNotification,
  MAX_EWS_NOTIFICATION_BODY_BYTES,
} from '../src/realtime/ews-notification-endpoint.js';
import { ewsPushServices } from '../src/realtime/ews-push-services.js';
import { NotificationClock } from '../src/realtime/notification-clock.js';

const clock = new NotificationClock();

// Anonymous, because Exchange cannot sign in. The callback URL's secret authenticates each request.
registerHttp({
  name: 'receive-ews-notifications',
  methods: ['POST'],
  route: 'ews/notifications',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_EWS_NOTIFICATION_BODY_BYTES,
  handler: (request, context) =>
    handleEwsNotification(request, context, () => ewsPushServices(process.env), clock),
});
