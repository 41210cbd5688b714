import { randomUUID } from 'node:crypto';

import type { QueueDelivery } from '../functions-host/registry.js';
import { toError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import type { Job, JobQueue, SendOptions } from './jobs.js';
import type { QueueMonitor, QueueStats } from './queue-monitor.js';

/** Options of {@link InProcessQueue}. */
export interface InProcessQueueOptions {
  /** Deliveries in progress at once. Default: 4. */
  maxConcurrency?: number;
  /** Deliveries before a message is dead-lettered, as Service Bus counts them. Default: 10. */
  maxDeliveryCount?: number;
  /** Delay before the first redelivery, in milliseconds; doubled per delivery. Default: 1,000. */
  retryDelayMs?: number;
  /** Maximum delay before a redelivery, in milliseconds. Default: 60,000. */
  maxRetryDelayMs?: number;
  logger?: Logger;
}

/** A message the queue gave up on, with the reason, like a Service Bus dead-letter entry. */
export interface DeadLetter {
  messageId: string;
  body: unknown;
  deliveryCount: number;
  reason: string;
}

/** Receives one message; throwing returns it to the queue. */
export type QueueMessageHandler = (message: unknown, delivery: QueueDelivery) => Promise<void>;

interface StoredMessage {
  messageId: string;
  /** JSON text, so a consumer never shares objects with the sender, as over the wire. */
  body: string;
  deliveryCount: number;
  availableAt: number;
}

/**
 * A queue in this process that behaves like a Service Bus queue in peek-lock mode, for local runs
 * and tests. A registered consumer receives messages with bounded concurrency. A failed delivery
 * comes back after an exponential backoff, and the last allowed failure dead-letters the message
 * with the error's message as the reason. Messages are lost when the process ends.
 */
export class InProcessQueue implements JobQueue, QueueMonitor {
  private readonly pending: StoredMessage[] = [];
  private readonly deadLetterList: DeadLetter[] = [];
  private readonly maxConcurrency: number;
  private readonly maxDeliveryCount: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly logger: Logger;
  private handler: QueueMessageHandler | undefined;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: InProcessQueueOptions = {}) {
    this.maxConcurrency = options.maxConcurrency ?? 4;
    this.maxDeliveryCount = options.maxDeliveryCount ?? 10;
    this.retryDelayMs = options.retryDelayMs ?? 1000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
    this.logger = options.logger ?? silentLogger;
  }

  /** Adds jobs; rejects once the queue is closed. */
  async send(jobs: readonly Job[], options: SendOptions = {}): Promise<void> {
    if (this.closed) {
      throw new Error('The in-process queue is closed');
    }
    const now = Date.now() + Math.max(0, options.delayMs ?? 0);
    for (const job of jobs) {
      const messageId = randomUUID();
      this.pending.push({
        messageId,
        body: JSON.stringify(job),
        deliveryCount: 0,
        availableAt: now,
      });
    }
    this.pump();
  }

  /** Sets the one consumer; deliveries start at once. Returns a function that detaches it. */
  consume(handler: QueueMessageHandler): () => void {
    if (this.handler !== undefined) {
      throw new Error('The in-process queue already has a consumer');
    }
    this.handler = handler;
    this.pump();
    return () => {
      if (this.handler === handler) {
        this.handler = undefined;
        clearTimeout(this.timer);
        this.timer = undefined;
      }
    };
  }

  async readStats(): Promise<QueueStats> {
    return { backlog: this.pending.length, deadLettered: this.deadLetterList.length };
  }

  /** Messages dead-lettered so far, oldest first. */
  deadLetters(): readonly DeadLetter[] {
    return this.deadLetterList;
  }

  /** Resolves once nothing is pending or in flight (retries waiting for their delay count). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops deliveries and rejects later sends; messages in flight finish. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private isIdle(): boolean {
    return this.pending.length === 0 && this.inFlight === 0;
  }

  private pump(): void {
    if (this.closed || this.handler === undefined) {
      return;
    }
    const now = Date.now();
    while (this.inFlight < this.maxConcurrency) {
      const index = this.pending.findIndex((message) => message.availableAt <= now);
      if (index < 0) {
        break;
      }
      const [message] = this.pending.splice(index, 1);
      if (message !== undefined) {
        void this.deliver(message, this.handler);
      }
    }
    this.scheduleNextWake(now);
  }

  private scheduleNextWake(now: number): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0 || this.inFlight >= this.maxConcurrency) {
      return;
    }
    const next = Math.min(...this.pending.map((message) => message.availableAt));
    this.timer = setTimeout(() => this.pump(), Math.max(0, next - now));
  }

  private async deliver(message: StoredMessage, handler: QueueMessageHandler): Promise<void> {
    this.inFlight += 1;
    message.deliveryCount += 1;
    const delivery: QueueDelivery = {
      deliveryCount: message.deliveryCount,
      messageId: message.messageId,
    };
    try {
      await handler(JSON.parse(message.body), delivery);
    } catch (thrown) {
      this.settleFailure(message, toError(thrown));
    } finally {
      this.inFlight -= 1;
    }
    this.pump();
    if (this.isIdle()) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      waiters.forEach((resolve) => resolve());
    }
  }

  private settleFailure(message: StoredMessage, error: Error): void {
    const fields = { messageId: message.messageId, deliveryCount: message.deliveryCount };
    if (message.deliveryCount >= this.maxDeliveryCount) {
      this.deadLetterList.push({
        messageId: message.messageId,
        body: JSON.parse(message.body),
        deliveryCount: message.deliveryCount,
        reason: error.message,
      });
      this.logger.warn('Queue message dead-lettered', fields);
      return;
    }
    const exponent = Math.min(message.deliveryCount - 1, 30);
    const delay = Math.min(this.maxRetryDelayMs, this.retryDelayMs * 2 ** exponent);
    // Up to 20% jitter, so that messages failing together do not come back together.
    message.availableAt = Date.now() + delay * (0.8 + Math.random() * 0.2);
    this.pending.push(message);
    this.logger.info('Queue message returned for a retry', fields);
  }
}
