/** Counts of one queue, for /api/status. */
export interface QueueStats {
  /** Messages waiting to be delivered, including those waiting for a retry. */
  backlog: number;
  /** Messages in the dead-letter queue. */
  deadLettered: number;
}

/** Reads a queue's counts: the in-process queue, or Service Bus runtime properties. */
export interface QueueMonitor {
  readStats(): Promise<QueueStats>;
}
