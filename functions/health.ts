import { app, type HttpRequest, type HttpResponseInit, type InvocationContext } from '@azure/functions';

import { describeHealth } from '../src/health/health.js';

/** GET /api/health: settings validity and the engines this deployment runs, without secrets. */
export async function health(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const report = await describeHealth(process.env);
  context.info('health checked', { status: report.status, invocationId: context.invocationId });
  return { status: report.status === 'ok' ? 200 : 503, jsonBody: report };
}

app.http('get-health', {
  methods: ['GET'],
  authLevel: 'function',
  route: 'health',
  handler: health,
});
