import type { Principal } from '../auth/principal.js';
import type { ApiRequest, ApiResponse, HandlerContext } from '../functions-host/registry.js';
import type { AuditAction, AuditEntry, AuditResult } from './quarantine-audit.js';
import type { QuarantineMetadata } from './quarantine-types.js';

export { describeIssues, parseJsonBody, parseQueryParams } from '../shared/http-input.js';

/**
 * Shared parts of the quarantine handlers: the authenticated call, the audit recorder and the
 * item reader that turns an unknown id and another user's item into the same 404.
 */

/** One authenticated request. */
export interface Call {
  principal: Principal;
  request: ApiRequest;
  context: HandlerContext;
}

/** Extra fields of an audit entry. */
export interface AuditExtra {
  quarantineId?: string;
  detail?: string;
}

/** Helpers each quarantine handler module receives from {@link createQuarantineApi}. */
export interface ApiKit {
  now: () => Date;
  /** Appends an audit entry for the call. @throws ScannerError `blob-unavailable`. */
  record(call: Call, action: AuditAction, result: AuditResult, extra?: AuditExtra): Promise<void>;
  /**
   * Reads the item named by the `id` route parameter for the caller, or returns the 400 or 404
   * to send (audited as `action`).
   */
  readItem(call: Call, action: AuditAction): Promise<QuarantineMetadata | ApiResponse>;
  /** Reads an item by id for the caller, as {@link readItem} does for the route parameter. */
  readItemById(call: Call, action: AuditAction, id: string): Promise<QuarantineMetadata | ApiResponse>;
}

/** Builds an audit entry for a call. */
export function toAuditEntry(
  call: Call,
  action: AuditAction,
  result: AuditResult,
  time: Date,
  extra: AuditExtra,
): AuditEntry {
  const { principal } = call;
  let actorRole: AuditEntry['actorRole'] = 'user';
  if (principal.isAdmin) {
    actorRole = 'admin';
  } else if (principal.isReader === true) {
    actorRole = 'reader';
  }
  return {
    time: time.toISOString(),
    actorId: principal.id,
    actorMailbox: principal.mailbox,
    actorRole,
    action,
    result,
    clientIp: clientIp(call.request),
    ...extra,
  };
}

/**
 * Returns the client address: the first X-Forwarded-For entry, which App Service's front end
 * sets to the client's address and port, else the `client-ip` header the Functions front end
 * adds. A value that does not look like an address is dropped rather than stored.
 */
export function clientIp(request: ApiRequest): string | undefined {
  const candidates = [
    request.headers.get('x-forwarded-for')?.split(',')[0]?.trim(),
    request.headers.get('client-ip')?.trim(),
  ];
  return candidates.find(
    (value): value is string => value !== undefined && /^[0-9A-Fa-f:.[\]]{2,64}$/.test(value),
  );
}

/** Returns the 404 of an unknown item, also sent for an item the caller may not see. */
export function notFound(): ApiResponse {
  return { status: 404, json: { error: 'Quarantine item not found' } };
}
