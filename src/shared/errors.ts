/** Closed set of error codes. Each is either transient (retry) or permanent. */
export type ScannerErrorCode =
  | 'config-invalid'
  | 'input-unreadable'
  | 'mime-limit-exceeded'
  | 'scan-timeout'
  | 'engine-failed'
  | 'blob-conflict'
  | 'blob-unavailable'
  | 'blob-integrity'
  | 'quarantine-not-found'
  | 'model-invalid'
  | 'mailbox-not-found'
  | 'mailbox-on-premises'
  | 'mailbox-throttled'
  | 'mailbox-unavailable'
  | 'mailbox-request-failed'
  | 'queue-unavailable'
  | 'rules-invalid';

const TRANSIENT_CODES: ReadonlySet<ScannerErrorCode> = new Set([
  'blob-unavailable',
  'engine-failed',
  'scan-timeout',
  'mailbox-throttled',
  'mailbox-unavailable',
  'queue-unavailable',
]);

/** The project's single error type. Messages never contain mail content or secrets. */
export class ScannerError extends Error {
  readonly code: ScannerErrorCode;
  readonly transient: boolean;
  /** Safe identifiers (hashes, ids, setting names) for logs. */
  readonly fields: Readonly<Record<string, string | number>>;

  constructor(
    code: ScannerErrorCode,
    message: string,
    options: { cause?: unknown; fields?: Record<string, string | number> } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'ScannerError';
    this.code = code;
    this.transient = TRANSIENT_CODES.has(code);
    this.fields = options.fields ?? {};
  }
}

/** Normalizes anything thrown into an Error, so callers can read `message` safely. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) {
    return thrown;
  }
  return new Error(typeof thrown === 'string' ? thrown : 'non-Error value thrown');
}
