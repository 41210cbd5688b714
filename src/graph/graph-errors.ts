import { ScannerError } from '../shared/errors.js';
import { graphErrorSchema } from './graph-schemas.js';

/**
 * Scope of a request: the mailbox as a whole (a listing, a folder, a delta, sendMail), one
 * item in it, or something outside mailboxes (subscriptions, groups).
 */
export type RequestScope = 'mailbox' | 'item' | 'tenant';

/** Reads Graph's error code from a response body, if the body is Graph's error envelope. */
export function readGraphErrorCode(body: string): string | undefined {
  try {
    const parsed = graphErrorSchema.safeParse(JSON.parse(body));
    return parsed.success ? parsed.data.error.code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Turns a final Graph error response into a ScannerError. The Graph message text is left out
 * because it can echo addresses; the status and the code go in the fields.
 */
export function toScannerError(
  status: number,
  graphCode: string | undefined,
  scope: RequestScope,
  operation: string,
): ScannerError {
  const fields = { status, graphCode: graphCode ?? 'none', operation };
  // Hybrid tenants: a mailbox hosted on premises returns 404 MailboxNotEnabledForRESTAPI, or for
  // some mailboxes a bare 404, on any mailbox request.
  if (graphCode !== undefined && /MailboxNotEnabledForRESTAPI/i.test(graphCode)) {
    return new ScannerError('mailbox-on-premises', 'Mailbox is not reachable over Graph', {
      fields,
    });
  }
  if (status === 404 && scope === 'mailbox' && graphCode === undefined) {
    return new ScannerError(
      'mailbox-on-premises',
      'Mailbox root returned 404 without an error code',
      { fields },
    );
  }
  if (
    status === 404 &&
    graphCode !== 'ErrorInvalidUser' &&
    graphCode !== 'Request_ResourceNotFound'
  ) {
    return new ScannerError('mailbox-not-found', 'Graph item or folder not found', { fields });
  }
  if (status === 429) {
    return new ScannerError('mailbox-throttled', 'Graph kept throttling the mailbox', { fields });
  }
  if (status >= 500 || status === 0) {
    return new ScannerError('mailbox-unavailable', 'Graph was unavailable', { fields });
  }
  // Graph could not reach the notification URL within its 10-second limit: retrying later helps.
  if (graphCode === 'ValidationError') {
    return new ScannerError('mailbox-unavailable', 'Subscription validation failed', { fields });
  }
  return new ScannerError('mailbox-request-failed', 'Graph rejected the request', { fields });
}
