import { z } from 'zod';

/**
 * Jobs that travel on the scan queue (Service Bus in Azure, an in-process queue locally). A job
 * carries references only, never message bytes: the consumer fetches the MIME itself.
 */

const mailbox = z.string().min(1).max(320);

/** Scan one message that Graph reported, or that a sweep found. */
export const scanMessageJobSchema = z.strictObject({
  kind: z.literal('scan-message'),
  mailbox,
  /** The store's item id at the time of the notification (it changes when the item moves). */
  messageId: z.string().min(1).max(1024),
  /** Source of the scan request. */
  trigger: z.enum(['arrival', 'catch-up', 'scheduled', 'on-demand']),
  /** Graph subscription that reported it, when a notification did. */
  subscriptionId: z.string().min(1).max(200).optional(),
  /** ISO 8601 time the job was first enqueued. */
  enqueuedAt: z.iso.datetime(),
  /** Try number of a job sent again after a transient failure; absent on the first try. */
  attempt: z.number().int().min(2).max(1000).optional(),
});

/** Catch up one mailbox from its stored delta state (a `missed` event, a timer, a new subscription). */
export const catchUpJobSchema = z.strictObject({
  kind: z.literal('catch-up'),
  mailbox,
  reason: z.enum(['missed', 'timer', 'subscription-created', 'reconnect']),
  enqueuedAt: z.iso.datetime(),
  attempt: z.number().int().min(2).max(1000).optional(),
});

/**
 * Scan one mailbox for a scan of `/api/scans` or the scheduled scan. The checkpoint (folder, page
 * cursor, messages done) is in the scan's progress row, so a redelivered or re-sent job resumes
 * from there. `segment` counts the times the job was sent again after its time budget.
 */
export const scanMailboxJobSchema = z.strictObject({
  kind: z.literal('scan-mailbox'),
  scanId: z.string().regex(/^[0-9]{13}-[0-9a-f]{8}$/),
  mailbox,
  segment: z.number().int().min(0).max(100_000),
  enqueuedAt: z.iso.datetime(),
  attempt: z.number().int().min(2).max(1000).optional(),
});

export const jobSchema = z.discriminatedUnion('kind', [
  scanMessageJobSchema,
  catchUpJobSchema,
  scanMailboxJobSchema,
]);

export type ScanMessageJob = z.infer<typeof scanMessageJobSchema>;
export type CatchUpJob = z.infer<typeof catchUpJobSchema>;
export type ScanMailboxJob = z.infer<typeof scanMailboxJobSchema>;
export type Job = z.infer<typeof jobSchema>;

/** Options for sending jobs. */
export interface SendOptions {
  /** Deliver no earlier than this many milliseconds from now (a retry's backoff). */
  delayMs?: number;
}

/** The sending side of a queue. Implementations: Service Bus, and an in-process queue. */
export interface JobQueue {
  /** Sends jobs. Resolves once the queue has accepted all of them, and rejects otherwise. */
  send(jobs: readonly Job[], options?: SendOptions): Promise<void>;
}

/** Name of the scan queue, in Azure and locally. */
export const SCAN_QUEUE_NAME = 'mailsweep-scan';
