import { registerTimer } from '../src/functions-host/registry.js';
import { toLogger } from '../src/realtime/services.js';
import { openScansServices } from '../src/scans/scans-services.js';
import { runScheduledScan } from '../src/scans/scheduled-scan.js';

// The schedule is read when the host starts; loadSettings checks its format on the first run.
const schedule = process.env.MAILSWEEP_SCHEDULED_SCAN_CRON?.trim() || '0 0 2 * * *';

registerTimer({
  name: 'scheduled-scan',
  schedule,
  handler: async (context) => {
    const logger = toLogger(context);
    const result = await runScheduledScan(await openScansServices(process.env, logger), logger);
    logger.info('scheduled-scan timer finished', { result: result.kind });
  },
});
