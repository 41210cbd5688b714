/** Retry settings for throttled and failed requests. */
export interface RetryOptions {
  /** Tries per request, the first included; default 6. */
  maxTries: number;
  /** First backoff step in milliseconds, doubled on each try; default 1,000. */
  baseDelayMs: number;
  /** Largest backoff step in milliseconds; default 60,000. */
  maxDelayMs: number;
  /**
   * Largest Retry-After the client waits for, in milliseconds; default 120,000. A longer one ends
   * the tries at once, so that the caller can put the work back on its queue instead of holding
   * a Function instance.
   */
  maxRetryAfterMs: number;
}

/** Default retry behaviour. */
export const DEFAULT_RETRY_OPTIONS: RetryOptions = {
  maxTries: 6,
  baseDelayMs: 1000,
  maxDelayMs: 60_000,
  maxRetryAfterMs: 120_000,
};

/**
 * Parses a Retry-After value: delay seconds or an HTTP date (RFC 9110 section 10.2.3).
 * @returns milliseconds to wait, or undefined when the header is missing or invalid.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value === undefined) {
    return undefined;
  }
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    return Number(text) * 1000;
  }
  // All three HTTP date formats start with a day name; Date.parse alone would read "-5" as a year.
  const date = /^[A-Za-z]{3,9},? /.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(date)) {
    return undefined;
  }
  return Math.max(0, date - now);
}

/**
 * Returns the wait before try number `tryNumber + 1`: exponential backoff with jitter (half
 * fixed, half random), but never less than Retry-After. Outlook has been seen to send no
 * Retry-After, or always 1 second, and retrying that fast extends the throttling, so a tiny
 * Retry-After still backs off.
 */
export function computeRetryDelay(
  tryNumber: number,
  retryAfterMs: number | undefined,
  options: RetryOptions,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (tryNumber - 1));
  const backoff = ceiling / 2 + (random() * ceiling) / 2;
  return Math.max(retryAfterMs ?? 0, backoff);
}

/** Statuses worth retrying: throttling, and server errors that Graph documents as transient. */
export function isRetryableStatus(status: number): boolean {
  return status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}
