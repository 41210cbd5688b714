import { handleScanQueueMessage } from '../src/arrival/arrival-runtime.js';
import { registerQueueConsumer } from '../src/functions-host/registry.js';
import { SCAN_QUEUE_NAME } from '../src/queue/jobs.js';

// One consumer for the scan queue, which carries scan-message and catch-up jobs (see `kind`).
// Throwing returns the message to the queue, which dead-letters it after its last delivery.
registerQueueConsumer({
  name: 'scan-queue',
  queueName: SCAN_QUEUE_NAME,
  handler: (message, delivery, context) => handleScanQueueMessage(message, delivery, context),
});
