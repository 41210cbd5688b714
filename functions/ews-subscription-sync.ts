import { registerTimer } from '../src/functions-host/registry.js';
import { ewsPushServices } from '../src/realtime/ews-push-services.js';
import { runEwsSubscriptionSync } from '../src/realtime/ews-subscription-sync.js';
import { toLogger } from '../src/realtime/services.js';

// Every 15 minutes, like the Graph timer. A push subscription Exchange dropped is replaced by the
// first run after three silent StatusFrequency periods, and each run's catch-up jobs bound how long
// a message that push missed stays unscanned.
registerTimer({
  name: 'sync-ews-subscriptions',
  schedule: '30 */15 * * * *',
  handler: async (context) => {
    await runEwsSubscriptionSync(await ewsPushServices(process.env), toLogger(context));
  },
});
