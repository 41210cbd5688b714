import { createHash } from 'node:crypto';

import {
  ServiceBusAdministrationClient,
  ServiceBusClient,
  type ServiceBusMessage,
  type ServiceBusSender,
} from '@azure/service-bus';
import type { TokenCredential } from '@azure/identity';
import { DefaultAzureCredential } from '@azure/identity';

import { ScannerError } from '../shared/errors.js';
import type { Job, JobQueue } from './jobs.js';
import type { QueueMonitor, QueueStats } from './queue-monitor.js';

/** Where the Service Bus namespace is: a connection string, or a namespace and an identity. */
export interface ServiceBusTarget {
  connectionString?: string;
  /** e.g. `contoso.servicebus.windows.net`, reached with `credential`. */
  fullyQualifiedNamespace?: string;
  /** Default: DefaultAzureCredential (the app's managed identity in Azure). */
  credential?: TokenCredential;
  queueName: string;
}

/** A JobQueue on a Service Bus queue, with the client to close on shutdown. */
export interface ServiceBusJobQueue extends JobQueue {
  close(): Promise<void>;
}

/**
 * Opens a sender on a Service Bus queue. `send` packs the jobs into as few batches as the
 * namespace's message size allows.
 * @throws ScannerError `config-invalid` when neither a connection string nor a namespace is set.
 */
export function createServiceBusJobQueue(target: ServiceBusTarget): ServiceBusJobQueue {
  const client = createClient(target);
  const sender = client.createSender(target.queueName);
  return {
    async send(jobs, options = {}) {
      try {
        const messages = jobs.map(toServiceBusMessage);
        if ((options.delayMs ?? 0) > 0) {
          // Scheduled messages stay invisible until their time: the queue's own backoff.
          await sender.scheduleMessages(messages, new Date(Date.now() + (options.delayMs ?? 0)));
          return;
        }
        await sendInBatches(sender, messages);
      } catch (error) {
        throw new ScannerError('queue-unavailable', 'Sending jobs to Service Bus failed', {
          cause: error,
          fields: { queueName: target.queueName, jobs: jobs.length },
        });
      }
    },
    async close() {
      await sender.close();
      await client.close();
    },
  };
}

/** Reads a Service Bus queue's active and dead-lettered message counts. */
export function createServiceBusQueueMonitor(target: ServiceBusTarget): QueueMonitor {
  const admin =
    target.connectionString !== undefined
      ? new ServiceBusAdministrationClient(target.connectionString)
      : new ServiceBusAdministrationClient(
          requireNamespace(target),
          target.credential ?? new DefaultAzureCredential(),
        );
  return {
    async readStats(): Promise<QueueStats> {
      const properties = await admin.getQueueRuntimeProperties(target.queueName);
      return {
        backlog: properties.activeMessageCount + properties.scheduledMessageCount,
        deadLettered: properties.deadLetterMessageCount,
      };
    },
  };
}

/**
 * Converts a job to a message. The message id of a scan job is derived from the mailbox and the
 * item id, so that a queue with duplicate detection turned on drops Graph's duplicate
 * notifications; the consumer must stay idempotent anyway, because detection has a time window.
 */
export function toServiceBusMessage(job: Job): ServiceBusMessage {
  // A retry is a new message on purpose, so its attempt is part of the key.
  const key =
    job.kind === 'scan-message'
      ? `${job.mailbox}\n${job.messageId}\n${job.attempt ?? 1}`
      : job.kind === 'scan-mailbox'
        ? `scan\n${job.scanId}\n${job.mailbox}\n${job.segment}\n${job.attempt ?? 1}`
        : undefined;
  return {
    body: job,
    contentType: 'application/json',
    subject: job.kind,
    messageId: key === undefined ? undefined : createHash('sha256').update(key).digest('hex'),
  };
}

/**
 * Sends messages in as few batches as the namespace's message size allows.
 * @throws Error when one message alone is larger than a batch may be.
 */
// NOTE: a failure after the first batch leaves the earlier batches sent. The caller's retry then
// sends them again, which the idempotent consumer tolerates.
export async function sendInBatches(
  sender: Pick<ServiceBusSender, 'createMessageBatch' | 'sendMessages'>,
  messages: readonly ServiceBusMessage[],
): Promise<void> {
  let batch = await sender.createMessageBatch();
  for (const message of messages) {
    if (batch.tryAddMessage(message)) {
      continue;
    }
    if (batch.count === 0) {
      throw new Error('A job is larger than the largest Service Bus message');
    }
    await sender.sendMessages(batch);
    batch = await sender.createMessageBatch();
    if (!batch.tryAddMessage(message)) {
      throw new Error('A job is larger than the largest Service Bus message');
    }
  }
  if (batch.count > 0) {
    await sender.sendMessages(batch);
  }
}

function createClient(target: ServiceBusTarget): ServiceBusClient {
  if (target.connectionString !== undefined) {
    return new ServiceBusClient(target.connectionString);
  }
  return new ServiceBusClient(
    requireNamespace(target),
    target.credential ?? new DefaultAzureCredential(),
  );
}

function requireNamespace(target: ServiceBusTarget): string {
  if (target.fullyQualifiedNamespace === undefined) {
    throw new ScannerError(
      'config-invalid',
      'Service Bus is not configured: set MAILSWEEP_SERVICEBUS__fullyQualifiedNamespace or ' +
        'MAILSWEEP_SERVICEBUS',
    );
  }
  return target.fullyQualifiedNamespace;
}
