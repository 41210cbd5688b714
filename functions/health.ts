import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { createHealthEngines, type HealthReport, probeEngines } from '../src/health/health.js';
import type { ScanEngine } from '../src/scanning/types.js';
import { toError } from '../src/shared/errors.js';

// Settings do not change while a host instance runs, so the engines are built once per instance
// instead of loading the spam model on every request. Daemons are probed on every request,
// because their status does change.
let cachedEngines: Promise<ScanEngine[]> | undefined;

/** GET /api/health: settings validity and each engine's status, version and signature date. */
export async function health(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  cachedEngines ??= createHealthEngines(process.env);
  let report: HealthReport;
  try {
    report = await probeEngines(await cachedEngines);
  } catch (thrown: unknown) {
    report = { status: 'failed', engines: [], error: toError(thrown).message };
  }
  context.info('health checked', { status: report.status, invocationId: context.invocationId });
  return { status: report.status === 'ok' ? 200 : 503, jsonBody: report };
}

app.http('get-health', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'health',
  handler: health,
});
