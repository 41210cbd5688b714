import { registerHttp } from '../src/functions-host/registry.js';
import { createHealthEngines, type HealthReport, probeEngines } from '../src/health/health.js';
import type { ScanEngine } from '../src/scanning/types.js';
import { toError } from '../src/shared/errors.js';

// Settings do not change while a host instance runs, so the engines are built once per instance
// instead of loading the spam model on every request. Daemons are probed on every request,
// because their status does change.
let cachedEngines: Promise<ScanEngine[]> | undefined;

/** GET /api/health: settings validity and each engine's status, version and signature date. */
registerHttp({
  name: 'get-health',
  methods: ['GET'],
  route: 'health',
  authLevel: 'function',
  maxBodyBytes: 0,
  handler: async (_request, context) => {
    cachedEngines ??= createHealthEngines(process.env);
    let report: HealthReport;
    try {
      report = await probeEngines(await cachedEngines);
    } catch (thrown: unknown) {
      report = { status: 'failed', engines: [], error: toError(thrown).message };
    }
    context.log('info', 'health checked', { status: report.status, invocationId: context.invocationId });
    return { status: report.status === 'ok' ? 200 : 503, json: report };
  },
});
