import { ScannerError } from '../shared/errors.js';

/** EWS response codes that mean the service account may not open the mailbox. */
const EWS_ACCESS_CODES = new Set(['ErrorImpersonateUserDenied', 'ErrorImpersonationDenied', 'ErrorAccessDenied']);

/**
 * Error codes of a scan's report and API. Each names the cause in the administrator's terms, so
 * that a report line states what to fix without the log.
 */
export type ScanErrorCode =
  | 'mailbox-not-found'
  | 'access-denied'
  | 'credentials-rejected'
  | 'ews-not-soap'
  | 'ews-invalid-soap'
  | 'ews-not-configured'
  | 'throttled'
  | 'service-unavailable'
  | 'request-failed'
  | 'engine-failed'
  | 'internal-error'
  | string;

/** Maps an error thrown by a mailbox client or the scanner to a scan error code. */
export function toScanErrorCode(error: unknown): ScanErrorCode {
  if (!(error instanceof ScannerError)) {
    return 'internal-error';
  }
  const { ewsCode, graphCode, status, contentType } = error.fields;
  const unknownUser = graphCode === 'ErrorInvalidUser' || graphCode === 'Request_ResourceNotFound';
  if (error.code === 'mailbox-not-found' || ewsCode === 'ErrorNonExistentMailbox' || unknownUser) {
    return 'mailbox-not-found';
  }
  if (error.code === 'mailbox-on-premises') {
    return 'ews-not-configured';
  }
  if ((typeof ewsCode === 'string' && EWS_ACCESS_CODES.has(ewsCode)) || status === 403) {
    return 'access-denied';
  }
  if (status === 401) {
    return 'credentials-rejected';
  }
  if (contentType !== undefined) {
    return 'ews-not-soap';
  }
  if (error.code === 'mailbox-unavailable' && /SOAP/.test(error.message)) {
    return 'ews-invalid-soap';
  }
  switch (error.code) {
    case 'mailbox-throttled':
      return 'throttled';
    case 'mailbox-unavailable':
      return 'service-unavailable';
    case 'mailbox-request-failed':
      return 'request-failed';
    default:
      return error.code;
  }
}

/** Returns a short explanation of a scan error code for the API and the report. */
export function describeScanError(code: string): string {
  const texts: Record<string, string> = {
    'mailbox-not-found': 'The mailbox does not exist or is not reachable by this app',
    'access-denied':
      'The app may not open this mailbox (Graph 403, or EWS impersonation denied); check its permissions',
    'credentials-rejected': 'The server rejected the credentials; check the EWS or Graph settings',
    'ews-not-soap': 'The EWS server answered with something other than SOAP, such as an HTML page',
    'ews-invalid-soap': 'The EWS server answered with a truncated or invalid SOAP body',
    'ews-not-configured': 'The mailbox is on premises but EWS is not configured; set MAILSWEEP_EWS_URL',
    throttled: 'The service kept throttling the mailbox after every retry',
    'service-unavailable': 'The mail service stayed unavailable after every retry',
    'request-failed': 'The mail service rejected a request for this mailbox',
    'engine-failed': 'A scan engine failed on the message after every retry',
    'message-gone': 'The message was deleted or moved before it was scanned',
  };
  return texts[code] ?? code;
}
