import { registerHttp } from '../src/functions-host/registry.js';
import { describeHealth, type HealthReport } from '../src/health/health.js';

// Settings do not change while a host instance runs, so the report is built once per instance
// instead of loading the spam model on every request.
let cachedReport: Promise<HealthReport> | undefined;

/** GET /api/health: settings validity and the engines this deployment runs, without secrets. */
registerHttp({
  name: 'get-health',
  methods: ['GET'],
  route: 'health',
  authLevel: 'function',
  maxBodyBytes: 0,
  handler: async (_request, context) => {
    cachedReport ??= describeHealth(process.env);
    const report = await cachedReport;
    context.log('info', 'health checked', {
      status: report.status,
      invocationId: context.invocationId,
    });
    return { status: report.status === 'ok' ? 200 : 503, json: report };
  },
});
