import type { HandlerContext } from '../functions-host/registry.js';
import { toError } from '../shared/errors.js';
import type { RealtimeServices } from './services.js';

/**
 * Records the time of the last notification per mailbox on its row. A busy mailbox would cost
 * one table write per request, so this instance writes each mailbox at most once per interval.
 * The map of last writes is cleared when it outgrows its bound, which allows one extra write.
 */
export class NotificationClock {
  private readonly lastWritten = new Map<string, number>();

  constructor(
    /** Shortest time between two writes for one mailbox, in milliseconds. Default: 60,000. */
    private readonly intervalMs = 60_000,
    /** Most mailboxes remembered; the map is cleared when it grows past this. */
    private readonly maxEntries = 50_000,
  ) {}

  /** Writes `lastNotificationAt` for each mailbox not written recently; failures are logged. */
  async record(
    mailboxes: Iterable<string>,
    services: RealtimeServices,
    context: HandlerContext,
  ): Promise<void> {
    const now = services.now();
    const due = [...mailboxes].filter(
      (mailbox) => now.getTime() - (this.lastWritten.get(mailbox) ?? 0) >= this.intervalMs,
    );
    if (this.lastWritten.size + due.length > this.maxEntries) {
      this.lastWritten.clear();
    }
    const results = await Promise.allSettled(
      due.map((mailbox) => services.mailboxes.recordNotification(mailbox, now)),
    );
    results.forEach((result, index) => {
      const mailbox = due[index];
      if (mailbox === undefined) return;
      if (result.status === 'fulfilled') {
        this.lastWritten.set(mailbox, now.getTime());
      } else {
        context.log('warn', 'Recording the last notification time failed', {
          error: toError(result.reason).message,
        });
      }
    });
  }
}
