import { ScannerError } from '../shared/errors.js';

/** Per-mailbox limits the client keeps to. Defaults are Outlook's documented limits. */
export interface MailboxGateOptions {
  /** Requests in flight at once per mailbox; default 4 (Outlook's limit per app and mailbox). */
  maxConcurrentPerMailbox: number;
  /** Requests started per mailbox within windowMs; default 10,000. */
  requestsPerWindow: number;
  /** Length of the request budget's window, in milliseconds; default 600,000 (10 minutes). */
  windowMs: number;
  /** Maximum wait for the budget before `mailbox-throttled`, in milliseconds; default 300,000. */
  maxBudgetWaitMs: number;
}

/** Outlook's limits per app and mailbox: 4 concurrent requests, 10,000 requests per 10 minutes. */
export const OUTLOOK_MAILBOX_LIMITS: MailboxGateOptions = {
  maxConcurrentPerMailbox: 4,
  requestsPerWindow: 10_000,
  windowMs: 600_000,
  maxBudgetWaitMs: 300_000,
};

/** The budget counts requests in this many slices of the window, to keep memory small. */
const BUCKETS = 60;

interface MailboxState {
  active: number;
  waiters: Array<() => void>;
  /** Request counts per bucket, keyed by bucket start time. */
  buckets: Map<number, number>;
}

/**
 * Admits requests to each mailbox: at most `maxConcurrentPerMailbox` at once, and at most
 * `requestsPerWindow` started per window. Waiters are served first come, first served.
 */
export class MailboxGate {
  private readonly mailboxes = new Map<string, MailboxState>();
  private readonly bucketMs: number;

  constructor(private readonly options: MailboxGateOptions = OUTLOOK_MAILBOX_LIMITS) {
    this.bucketMs = Math.max(1, Math.ceil(options.windowMs / BUCKETS));
  }

  /**
   * Waits for a free slot and budget, then returns the function that releases the slot. The
   * release function may be called more than once; only the first call counts.
   * @throws ScannerError `mailbox-throttled` when the budget frees up only after maxBudgetWaitMs.
   */
  async acquire(mailbox: string): Promise<() => void> {
    const key = mailbox.toLowerCase();
    const state = this.stateOf(key);
    if (state.active >= this.options.maxConcurrentPerMailbox) {
      await new Promise<void>((resolve) => state.waiters.push(resolve));
    } else {
      state.active += 1;
    }
    try {
      await this.takeBudget(state);
    } catch (error) {
      this.release(key, state);
      throw error;
    }
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.release(key, state);
      }
    };
  }

  /** Requests in flight for a mailbox, for tests and status. */
  activeRequests(mailbox: string): number {
    return this.mailboxes.get(mailbox.toLowerCase())?.active ?? 0;
  }

  private stateOf(key: string): MailboxState {
    let state = this.mailboxes.get(key);
    if (state === undefined) {
      state = { active: 0, waiters: [], buckets: new Map() };
      this.mailboxes.set(key, state);
    }
    return state;
  }

  private async takeBudget(state: MailboxState): Promise<void> {
    for (;;) {
      const now = Date.now();
      const windowStart = now - this.options.windowMs;
      let used = 0;
      let oldest = Number.POSITIVE_INFINITY;
      for (const [start, count] of state.buckets) {
        if (start + this.bucketMs <= windowStart) {
          state.buckets.delete(start);
        } else {
          used += count;
          oldest = Math.min(oldest, start);
        }
      }
      if (used < this.options.requestsPerWindow) {
        const bucket = now - (now % this.bucketMs);
        state.buckets.set(bucket, (state.buckets.get(bucket) ?? 0) + 1);
        return;
      }
      const waitMs = oldest + this.bucketMs + this.options.windowMs - now;
      if (waitMs > this.options.maxBudgetWaitMs) {
        throw new ScannerError('mailbox-throttled', 'Mailbox request budget is spent', {
          fields: { retryAfterMs: waitMs },
        });
      }
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  private release(key: string, state: MailboxState): void {
    const next = state.waiters.shift();
    if (next !== undefined) {
      // The slot passes straight to the next waiter, so `active` stays the same.
      next();
      return;
    }
    state.active -= 1;
    if (state.active === 0 && state.buckets.size === 0) {
      this.mailboxes.delete(key);
    }
  }
}
