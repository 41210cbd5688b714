import { z } from 'zod';

import { requireAdmin, toAuthMode } from '../auth/require-admin.js';
import type { ApiRequest, ApiResponse, HandlerContext } from '../functions-host/registry.js';
import { ScannerError, toError } from '../shared/errors.js';
import { describeIssues } from '../shared/http-input.js';
import { summarizeScan, toCsv } from './scan-summary.js';
import { SCAN_ID_PATTERN, type ScanItem } from './scan-store.js';
import { startScan, type StartScanDependencies } from './start-scan.js';

/** Largest `POST /api/scans` body, in bytes: 5,000 addresses fit. */
export const MAX_SCAN_REQUEST_BYTES = 2 * 1024 * 1024;

/** Scans `GET /api/scans` lists by default, and at most. */
const DEFAULT_LIST_LIMIT = 50;
const MAX_LIST_LIMIT = 500;

/** Query of `GET /api/scans`. Other parameters are ignored. */
export const scanListQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, `must be a whole number from 1 to ${MAX_LIST_LIMIT}`)
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_LIST_LIMIT))
    .default(DEFAULT_LIST_LIMIT)
    .meta({ description: `Scans to list, newest first; default ${DEFAULT_LIST_LIMIT}.` }),
});

/** Query of `GET /api/scans/{id}/report`. Other parameters are ignored. */
export const scanReportQuerySchema = z.object({
  format: z.enum(['json', 'csv']).default('json'),
});

/** The `{id}` of the scan routes: a scan id that `POST /api/scans` returned. */
export const scanIdSchema = z.string().regex(SCAN_ID_PATTERN, 'must be a scan id from this API');

/** Services of the scans endpoints. */
export type ScansApiServices = StartScanDependencies;

/**
 * Handles `POST /api/scans` (start a scan) and `GET /api/scans` (recent scans, newest first) for
 * administrators.
 */
export async function handleScans(
  request: ApiRequest,
  context: HandlerContext,
  loadServices: () => Promise<ScansApiServices>,
): Promise<ApiResponse> {
  const services = await loadServices();
  const auth = requireAdmin(request, toAuthMode(services.settings.auth));
  if ('response' in auth) {
    return auth.response;
  }
  try {
    if (request.method === 'GET') {
      const query = parseQuery(request.url.searchParams, scanListQuerySchema);
      if ('response' in query) {
        return query.response;
      }
      const scans = await services.store.list(query.value.limit);
      return { status: 200, json: { scans } };
    }
    let body: unknown;
    try {
      body = JSON.parse(request.body.toString('utf8'));
    } catch {
      return badRequest('(body)', 'The body must be JSON');
    }
    const result = await startScan(body, { trigger: 'on-demand', createdBy: auth.principal.id }, services);
    if (!result.ok) {
      return { status: result.status, json: { error: result.error, field: result.field } };
    }
    context.log('info', 'scan requested', { scanId: result.scan.scanId, principal: auth.principal.id });
    return {
      status: 202,
      headers: { location: `/api/scans/${result.scan.scanId}` },
      json: { scanId: result.scan.scanId, mailboxes: result.scan.mailboxCount, definition: result.scan.definition },
    };
  } catch (error) {
    return toErrorResponse(error, context);
  }
}

/** Checks the administrator role and the `{id}` of a `/api/scans/{id}` route. */
async function authorizeScanRoute(
  request: ApiRequest,
  loadServices: () => Promise<ScansApiServices>,
): Promise<
  | { services: ScansApiServices; auth: { principal: { id: string } }; scanId: string }
  | { response: ApiResponse }
> {
  const services = await loadServices();
  const auth = requireAdmin(request, toAuthMode(services.settings.auth));
  if ('response' in auth) {
    return { response: auth.response };
  }
  const scanId = request.params.id ?? '';
  if (!scanIdSchema.safeParse(scanId).success) {
    return { response: badRequest('id', 'invalid id: must be a scan id from this API') };
  }
  return { services, auth, scanId };
}

/** Handles `GET /api/scans/{id}` (progress) and `DELETE /api/scans/{id}` (cancel). */
export async function handleScan(
  request: ApiRequest,
  context: HandlerContext,
  loadServices: () => Promise<ScansApiServices>,
): Promise<ApiResponse> {
  const target = await authorizeScanRoute(request, loadServices);
  if ('response' in target) {
    return target.response;
  }
  const { services, auth, scanId } = target;
  try {
    const scan = await services.store.get(scanId);
    if (scan === undefined) {
      return { status: 404, json: { error: 'Scan not found' } };
    }
    if (request.method === 'DELETE') {
      await services.store.cancel(scanId);
      context.log('info', 'scan cancelled', { scanId, principal: auth.principal.id });
      return { status: 202, json: { scanId, status: 'cancelled' } };
    }
    const rows = await services.store.listProgress(scanId);
    return { status: 200, json: summarizeScan(scan, rows, services.now()) };
  } catch (error) {
    return toErrorResponse(error, context);
  }
}

/**
 * Handles `GET /api/scans/{id}/report?format=json|csv`: one line per message of a finished or
 * cancelled scan. A running scan gets 409.
 */
export async function handleScanReport(
  request: ApiRequest,
  context: HandlerContext,
  loadServices: () => Promise<ScansApiServices>,
): Promise<ApiResponse> {
  const target = await authorizeScanRoute(request, loadServices);
  if ('response' in target) {
    return target.response;
  }
  const { services, scanId } = target;
  const query = parseQuery(request.url.searchParams, scanReportQuerySchema);
  if ('response' in query) {
    return query.response;
  }
  const format = query.value.format;
  try {
    const scan = await services.store.get(scanId);
    if (scan === undefined) {
      return { status: 404, json: { error: 'Scan not found' } };
    }
    const summary = summarizeScan(scan, await services.store.listProgress(scanId), services.now());
    if (summary.status === 'running') {
      return { status: 409, json: { error: 'The scan is still running; the report is ready when it ends' } };
    }
    const items: ScanItem[] = [];
    for await (const item of services.store.listItems(scanId)) {
      items.push(item);
    }
    if (format === 'csv') {
      return {
        status: 200,
        headers: {
          'content-type': 'text/csv; charset=utf-8',
          'content-disposition': `attachment; filename="scan-${scanId}.csv"`,
        },
        body: toCsv(items),
      };
    }
    return { status: 200, json: { scanId, status: summary.status, errors: summary.errors, items } };
  } catch (error) {
    return toErrorResponse(error, context);
  }
}

/**
 * Parses the query with a schema and returns the 400 naming the first invalid field otherwise,
 * or the repeated parameter when one is given twice.
 */
function parseQuery<T extends z.ZodType>(
  params: URLSearchParams,
  schema: T,
): { value: z.infer<T> } | { response: ApiResponse } {
  const raw: Record<string, string> = {};
  for (const [key, value] of params) {
    if (key in raw) {
      return { response: badRequest(key, `invalid query: ${key} is given twice`) };
    }
    raw[key] = value;
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) {
    return { value: parsed.data };
  }
  const field = parsed.error.issues[0]?.path.join('.') || '(query)';
  return { response: badRequest(field, `invalid query: ${describeIssues(parsed.error.issues)}`) };
}

function badRequest(field: string, error: string): ApiResponse {
  return { status: 400, json: { error, field } };
}

function toErrorResponse(error: unknown, context: HandlerContext): ApiResponse {
  const transient = error instanceof ScannerError && error.transient;
  context.log('error', 'scans request failed', {
    code: error instanceof ScannerError ? error.code : 'internal-error',
    error: toError(error).message,
  });
  return transient
    ? { status: 503, headers: { 'retry-after': '10' }, json: { error: 'Storage or the queue is unavailable; try again' } }
    : { status: 500, json: { error: 'The request failed' } };
}
