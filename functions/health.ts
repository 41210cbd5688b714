import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { describeHealth, type HealthReport } from '../src/health/health.js';

// Settings do not change while a host instance runs, so the report is built once per instance
// instead of loading the spam model on every request.
let cachedReport: Promise<HealthReport> | undefined;

/** GET /api/health: settings validity and the engines this deployment runs, without secrets. */
export async function health(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  cachedReport ??= describeHealth(process.env);
  const report = await cachedReport;
  context.info('health checked', { status: report.status, invocationId: context.invocationId });
  return { status: report.status === 'ok' ? 200 : 503, jsonBody: report };
}

app.http('get-health', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'health',
  handler: health,
});
