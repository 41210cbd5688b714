import { registerTimer } from '../src/functions-host/registry.js';
import { realtimeServices } from '../src/realtime/provider.js';
import { toLogger } from '../src/realtime/services.js';
import { runSubscriptionSync } from '../src/realtime/subscription-sync.js';

// Every 15 minutes. Renewals start a day before Graph's 4,230-minute limit, so many runs in a row
// can fail before a subscription lapses. The catch-up jobs each run enqueues bound how long a lost
// notification leaves a message unscanned.
registerTimer({
  name: 'sync-subscriptions',
  schedule: '0 */15 * * * *',
  handler: async (context) => {
    await runSubscriptionSync(await realtimeServices(process.env), toLogger(context));
  },
});
