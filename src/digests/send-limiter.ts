import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Keeps digest sending within Exchange Online's per-mailbox sending limits: at most
 * `messagesPerMinute` messages in any 60 seconds, and at most `recipientsPerDay` recipients in
 * any 24 hours. The defaults (30 and 10,000) are the service-wide limits of the Exchange Online
 * service description, "Sending limits"; a tenant may set lower ones in its outbound spam policy.
 * Graph's own limits per app and mailbox (4 requests at once, 10,000 per 10 minutes) are kept by
 * the Graph client.
 * @see https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits#sending-limits-1
 */

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;

/** Options of {@link SendLimiter}. */
export interface SendLimiterOptions {
  /** Messages in any 60 seconds; default 30. */
  messagesPerMinute?: number;
  /** Recipients in any 24 hours; default 10,000. */
  recipientsPerDay?: number;
  /** Recipients already sent in the 24 hours before this limiter was made (from storage). */
  recipientsSentToday?: number;
  /** Clock, in epoch milliseconds; default Date.now. */
  now?: () => number;
  /** Waits this many milliseconds; default a timer. Benchmarks pass a simulated clock. */
  wait?: (ms: number) => Promise<void>;
}

/** Outcome of {@link SendLimiter.acquire}. */
export type AcquireResult = 'ok' | 'daily-limit' | 'deadline';

/** A sliding-window limiter for one sending mailbox. Not safe for concurrent callers. */
export class SendLimiter {
  readonly messagesPerMinute: number;
  readonly recipientsPerDay: number;
  private readonly now: () => number;
  private readonly wait: (ms: number) => Promise<void>;
  /** Send times within the last minute, oldest first. */
  private readonly recentSends: number[] = [];
  /** Recipients sent by this limiter, with their send times, oldest first. */
  private readonly dailySends: { at: number; recipients: number }[] = [];
  private readonly carriedRecipients: number;

  constructor(options: SendLimiterOptions = {}) {
    this.messagesPerMinute = options.messagesPerMinute ?? 30;
    this.recipientsPerDay = options.recipientsPerDay ?? 10_000;
    this.carriedRecipients = options.recipientsSentToday ?? 0;
    this.now = options.now ?? Date.now;
    this.wait = options.wait ?? ((ms) => sleep(ms).then(() => undefined));
  }

  /** Recipients counted against the current 24-hour window. */
  recipientsInWindow(): number {
    const since = this.now() - DAY_MS;
    const own = this.dailySends.filter((send) => send.at > since);
    return this.carriedRecipients + own.reduce((sum, send) => sum + send.recipients, 0);
  }

  /**
   * Waits until one more message to `recipients` recipients fits the per-minute limit, and
   * counts it. Returns `daily-limit` without waiting when the recipients would pass the daily
   * limit, and `deadline` when the wait would end after `deadline` (epoch milliseconds).
   */
  async acquire(recipients: number, deadline = Number.POSITIVE_INFINITY): Promise<AcquireResult> {
    if (this.recipientsInWindow() + recipients > this.recipientsPerDay) {
      return 'daily-limit';
    }
    this.dropOlderThan(this.now() - MINUTE_MS);
    if (this.recentSends.length >= this.messagesPerMinute) {
      const oldest = this.recentSends[0] ?? this.now();
      const readyAt = oldest + MINUTE_MS;
      if (readyAt > deadline) {
        return 'deadline';
      }
      await this.wait(readyAt - this.now());
      this.dropOlderThan(this.now() - MINUTE_MS);
    }
    const at = this.now();
    this.recentSends.push(at);
    this.dailySends.push({ at, recipients });
    return 'ok';
  }

  private dropOlderThan(time: number): void {
    while (this.recentSends.length > 0 && (this.recentSends[0] ?? 0) <= time) {
      this.recentSends.shift();
    }
  }
}
