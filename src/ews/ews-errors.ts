import { ScannerError } from '../shared/errors.js';

/** EWS response codes that mean the item or folder is gone. */
const NOT_FOUND_CODES = new Set([
  'ErrorItemNotFound',
  'ErrorFolderNotFound',
  'ErrorInvalidIdMalformed',
]);

/** EWS response codes that mean the service account may not act on the mailbox. */
const ACCESS_CODES = new Map([
  ['ErrorNonExistentMailbox', 'Mailbox does not exist on the Exchange server'],
  ['ErrorImpersonateUserDenied', 'The EWS account may not impersonate this mailbox'],
  ['ErrorImpersonationDenied', 'The EWS account may not impersonate this mailbox'],
  ['ErrorAccessDenied', 'Exchange denied access to the mailbox or item'],
  ['ErrorMailboxMoveInProgress', 'The mailbox is being moved'],
]);

/** EWS response codes worth retrying. */
const TRANSIENT_CODES = new Set([
  'ErrorServerBusy',
  'ErrorInternalServerTransientError',
  'ErrorMailboxStoreUnavailable',
  'ErrorConnectionFailed',
  'ErrorTimeoutExpired',
  'ErrorBatchProcessingStopped',
]);

/** True when an EWS response code is worth another try. */
export function isTransientResponseCode(code: string): boolean {
  return TRANSIENT_CODES.has(code);
}

/**
 * Turns an EWS response code (from a SOAP fault or a response message) into a ScannerError. The
 * server's MessageText is left out because it can echo addresses; the code goes in the fields.
 */
export function toScannerError(responseCode: string, operation: string): ScannerError {
  const fields = { ewsCode: responseCode, operation };
  if (NOT_FOUND_CODES.has(responseCode)) {
    return new ScannerError('mailbox-not-found', 'EWS item or folder not found', { fields });
  }
  const access = ACCESS_CODES.get(responseCode);
  if (access !== undefined) {
    return new ScannerError(
      'mailbox-request-failed',
      `${access}; check the ApplicationImpersonation role assignment`,
      { fields },
    );
  }
  if (responseCode === 'ErrorServerBusy') {
    return new ScannerError('mailbox-throttled', 'Exchange kept answering ErrorServerBusy', {
      fields,
    });
  }
  if (TRANSIENT_CODES.has(responseCode)) {
    return new ScannerError('mailbox-unavailable', 'Exchange was unavailable', { fields });
  }
  return new ScannerError('mailbox-request-failed', 'Exchange rejected the request', { fields });
}
