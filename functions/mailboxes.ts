import { registerHttp } from '../src/functions-host/registry.js';
import { handleMailboxes, MAX_MAILBOX_REQUEST_BYTES } from '../src/realtime/mailboxes-api.js';
import { realtimeServices } from '../src/realtime/provider.js';

const loadServices = () => realtimeServices(process.env);

// Anonymous at the host level: App Service authentication signs callers in, and the handler
// admits administrators only.
registerHttp({
  name: 'manage-mailboxes',
  methods: ['GET', 'POST'],
  route: 'mailboxes',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_MAILBOX_REQUEST_BYTES,
  handler: (request, context) => handleMailboxes(request, context, loadServices),
});

registerHttp({
  name: 'remove-mailbox',
  methods: ['DELETE'],
  route: 'mailboxes/{mailbox}',
  authLevel: 'anonymous',
  maxBodyBytes: MAX_MAILBOX_REQUEST_BYTES,
  handler: (request, context) => handleMailboxes(request, context, loadServices),
});
