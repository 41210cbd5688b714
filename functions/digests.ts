import { registerTimer } from '../src/functions-host/registry.js';
import { runDigestTimer } from '../src/digests/digest-runtime.js';
import { toLogger } from '../src/realtime/services.js';

// The Functions host reads the schedule from the MAILSWEEP_DIGEST_CRON app setting; the local
// host resolves the same %NAME% reference from the environment.
registerTimer({
  name: 'send-quarantine-digests',
  schedule: '%MAILSWEEP_DIGEST_CRON%',
  handler: async (context) => {
    await runDigestTimer(toLogger(context));
  },
});
