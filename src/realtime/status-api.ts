import { requireReader, toAuthMode } from '../auth/require-admin.js';
import type { ApiRequest, ApiResponse, HandlerContext } from '../functions-host/registry.js';
import { toError } from '../shared/errors.js';
import { rejectQueryParameters } from '../shared/http-input.js';
import { findMailboxProblems, logMailboxProblems } from './mailbox-health.js';
import { toView } from './mailboxes-api.js';
import { toLogger, type RealtimeServices } from './services.js';

/**
 * Handles `GET /api/status` for administrators and readers. It returns each mailbox's subscription state and
 * expiry, last notification, last catch-up and problems, and the scan queue's backlog and
 * dead-letter count. Each mailbox with a problem is also logged as an error.
 */
export async function handleStatus(
  request: ApiRequest,
  context: HandlerContext,
  loadServices: () => Promise<RealtimeServices>,
): Promise<ApiResponse> {
  const services = await loadServices();
  const auth = requireReader(request, toAuthMode(services.settings.auth));
  if ('response' in auth) {
    return auth.response;
  }
  const invalidQuery = rejectQueryParameters(request.url.searchParams);
  if (invalidQuery !== undefined) {
    return invalidQuery;
  }
  const now = services.now();
  const silentAfterMs = services.settings.subscriptions.silentMailboxHours * 3_600_000;
  const records = await services.mailboxes.list();
  const unhealthy = logMailboxProblems(records, now, silentAfterMs, toLogger(context));

  let queue: { backlog: number; deadLettered: number } | { error: string };
  try {
    queue = await services.queueMonitor.readStats();
  } catch (error) {
    context.log('error', 'Reading the queue counts failed', { error: toError(error).message });
    queue = { error: 'The queue counts could not be read' };
  }
  return {
    status: 200,
    json: {
      checkedAt: now.toISOString(),
      unhealthyMailboxes: unhealthy,
      queue,
      mailboxes: records.map((record) => ({
        ...toView(record),
        problems: findMailboxProblems(record, now, silentAfterMs),
      })),
    },
  };
}
