/** A scripted failure for the next requests that match. */
export interface ScriptedFault {
  /** Mailbox (user id or address) the fault applies to; any mailbox when unset. */
  mailbox?: string;
  /** HTTP method to match; any when unset. */
  method?: string;
  /** Substring of the request path (after the version segment) to match; any when unset. */
  pathIncludes?: string;
  /** HTTP status; 0 closes the connection without an answer. */
  status: number;
  /** Graph error code; no body when unset. */
  code?: string;
  /** Retry-After header value, sent as is (seconds or an HTTP date). */
  retryAfter?: string;
  /** How many matching requests fail; default 1. */
  times?: number;
}

/** Random and structural faults; every field can be changed while the simulator runs. */
export interface SimulatorFaults {
  /** Share of mailbox requests answered 429 ApplicationThrottled (0 to 1); default 0. */
  throttleRate: number;
  /** Retry-After on those 429s in seconds; no header when unset. */
  throttleRetryAfterSeconds?: number;
  /** Share of mailbox requests answered 503 ServiceUnavailable (0 to 1); default 0. */
  unavailableRate: number;
  /** Concurrent requests admitted per mailbox; Outlook's documented limit is 4. */
  maxConcurrentPerMailbox: number;
  /** Retry-After on MailboxConcurrency 429s in seconds; no header when unset. */
  concurrencyRetryAfterSeconds?: number;
  /** Requests admitted per mailbox in each window; Outlook's limit is 10,000 per 10 minutes. */
  requestsPerWindow: number;
  /** Length of that window in milliseconds; default 600,000. */
  windowMs: number;
  /** Milliseconds every mailbox request waits before it is answered; default 0. */
  latencyMs: number;
}

/** Defaults that follow Outlook's documented per-app, per-mailbox limits. */
export function defaultFaults(): SimulatorFaults {
  return {
    throttleRate: 0,
    unavailableRate: 0,
    maxConcurrentPerMailbox: 4,
    requestsPerWindow: 10_000,
    windowMs: 600_000,
    latencyMs: 0,
  };
}

/** Hooks for change-notification delivery. */
export interface NotificationHooks {
  /** Share of notifications sent twice (0 to 1); default 0. */
  duplicateRate: number;
  /** Share of notifications never sent (0 to 1); default 0. */
  dropRate: number;
  /** Send a `missed` lifecycle notification for each dropped one, as Graph does; default false. */
  missedOnDrop: boolean;
  /** Milliseconds each delivery waits before it is sent; default 0. */
  delayMs: number;
  /** Extra tries after a delivery fails (non-2xx or no answer within 3 s); default 2. */
  retries: number;
  /** Milliseconds between those tries; default 200. */
  retryDelayMs: number;
}

/** Defaults: every notification sent once, at once. */
export function defaultNotificationHooks(): NotificationHooks {
  return {
    duplicateRate: 0,
    dropRate: 0,
    missedOnDrop: false,
    delayMs: 0,
    retries: 2,
    retryDelayMs: 200,
  };
}

/** A small seeded generator (mulberry32), so that fault sequences repeat from run to run. */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
