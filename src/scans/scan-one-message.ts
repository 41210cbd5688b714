import type { ArrivalDependencies } from '../arrival/arrival-context.js';
import { isFinal, type MessageLock, type MessageLocks } from '../arrival/message-locks.js';
import { readMime } from '../arrival/mime-download.js';
import { handleScanMessage } from '../arrival/scan-message.js';
import { toItemKey, toLockKey } from '../arrival/table-keys.js';
import type { MailboxMessageRef } from '../mailbox/mailbox-client.js';
import { shouldRetry } from '../scanning/engines.js';
import { ScannerError, toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { ArrivalVerdict } from './arrival-verdicts.js';
import { toScanErrorCode } from './scan-errors.js';
import type { ScanItem } from './scan-store.js';

/** Tries of one message before its error goes into the report; transient errors only. */
const MESSAGE_TRIES = 3;

/** Delay before the second try of a message, in ms; it doubles per try. */
const RETRY_DELAY_MS = 200;

/** Dependencies of one message's scan. */
export interface MessageStepDependencies {
  /** The scan-on-arrival consumer's dependencies, with the scan's own message locks. */
  arrival: ArrivalDependencies;
  /** Scan on arrival's locks, read to skip messages it already finished (unless `retro`). */
  arrivalLocks: MessageLocks;
  /**
   * Scan on arrival's verdicts read beforehand for the page, by lock key; a message whose key is
   * not in the map was not finished. Undefined means each message's locks are read.
   */
  arrivalVerdicts?: ReadonlyMap<string, ArrivalVerdict>;
  logger: Logger;
}

/** The scan a message belongs to. */
export interface MessageStepContext {
  mailbox: string;
  mailboxKey: string;
  folderPath: string;
  mode: 'report' | 'act';
  retro: boolean;
  trigger: 'scheduled' | 'on-demand';
}

/** Key of a message's report row: its internet message id when known, so a moved copy is the same row. */
export function toScanItemKey(ref: MailboxMessageRef): string {
  return ref.internetMessageId === undefined
    ? toItemKey(ref.id)
    : toLockKey({ internetMessageId: ref.internetMessageId });
}

/** A message's report row, and in act mode the key of its message lock. */
export interface MessageStepResult {
  item: ScanItem;
  /**
   * Key of the message lock that decided it (act mode). A copy that the scan itself moved into a
   * folder scanned later has another item id but the same lock, so this key finds its row.
   */
  lockKey?: string;
}

/**
 * Scans one message of a mailbox scan and returns its report row. Always resolves: a failure is
 * an `error` row with a code, after up to {@link MESSAGE_TRIES} tries for a transient one.
 */
export async function scanOneMessage(
  ref: MailboxMessageRef,
  context: MessageStepContext,
  deps: MessageStepDependencies,
): Promise<MessageStepResult> {
  const base = { mailbox: context.mailbox, folder: context.folderPath, receivedAt: ref.receivedAt };
  const scannedAt = (): string => new Date().toISOString();
  try {
    if (!context.retro) {
      const finished =
        deps.arrivalVerdicts !== undefined && ref.internetMessageId !== undefined
          ? deps.arrivalVerdicts.get(toLockKey({ internetMessageId: ref.internetMessageId }))
          : await findFinishedOnArrival(ref, context.mailboxKey, deps.arrivalLocks);
      if (finished !== undefined) {
        const item: ScanItem = {
          ...base,
          outcome: 'skipped',
          category: finished.category,
          action: finished.action,
          rule: finished.signatures,
          scannedAt: scannedAt(),
        };
        return { item };
      }
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        const { lockKey, ...result } =
          context.mode === 'report'
            ? await reportOnly(ref, context, deps)
            : await scanAndAct(ref, context, deps, attempt === MESSAGE_TRIES);
        return { item: { ...base, ...result, scannedAt: scannedAt() }, lockKey };
      } catch (error) {
        const transient = !(error instanceof ScannerError) || error.transient;
        if (!transient || attempt >= MESSAGE_TRIES) {
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS * 2 ** (attempt - 1)));
      }
    }
  } catch (error) {
    deps.logger.warn('mailbox scan could not scan a message', {
      code: toScanErrorCode(error),
      error: toError(error).message,
    });
    return { item: { ...base, outcome: 'error', error: toScanErrorCode(error), scannedAt: scannedAt() } };
  }
}

async function findFinishedOnArrival(
  ref: MailboxMessageRef,
  mailboxKey: string,
  locks: MessageLocks,
): Promise<MessageLock | undefined> {
  const byItem = await locks.findByItem(mailboxKey, ref.id);
  if (byItem !== undefined && byItem.state === 'done') {
    return byItem;
  }
  if (ref.internetMessageId === undefined) {
    return undefined;
  }
  const byMessage = await locks.read(mailboxKey, toLockKey({ internetMessageId: ref.internetMessageId }));
  return byMessage !== undefined && isFinal(byMessage) && byMessage.state === 'done' ? byMessage : undefined;
}

type StepResult = Pick<ScanItem, 'outcome' | 'category' | 'action' | 'rule' | 'quarantineId' | 'error'> & {
  lockKey?: string;
};

/** Report mode: download and scan, and record the action the settings would take. */
async function reportOnly(
  ref: MailboxMessageRef,
  context: MessageStepContext,
  deps: MessageStepDependencies,
): Promise<StepResult> {
  const { arrival } = deps;
  const mime = await arrival.client.getMime(context.mailbox, ref.id);
  const read = await readMime(mime, arrival.settings.limits.maxMessageBytes);
  if (read.kind === 'too-large') {
    return { outcome: 'scanned', category: 'unscannable', action: 'none', rule: 'limit.message-bytes' };
  }
  const receivedAt = ref.receivedAt === undefined ? undefined : new Date(ref.receivedAt);
  let result;
  try {
    result = await arrival.scanner.scan(read.raw, {
      mailbox: context.mailbox,
      messageId: ref.id,
      folder: ref.folderId,
      trigger: context.trigger,
      receivedAt: receivedAt !== undefined && Number.isFinite(receivedAt.getTime()) ? receivedAt : undefined,
    });
  } catch (error) {
    throw error instanceof ScannerError
      ? error
      : new ScannerError('engine-failed', 'The scanner failed on the message', { cause: error });
  }
  const { verdict } = result;
  if (shouldRetry(verdict)) {
    throw new ScannerError('engine-failed', 'A scan engine was unavailable');
  }
  return {
    outcome: 'scanned',
    category: verdict.category,
    action: verdict.action,
    rule: verdict.decidingRule ?? signaturesOf(verdict.findings),
  };
}

/**
 * Act mode: the scan-on-arrival consumer scans, stores and verifies the quarantine copy, acts and
 * records the verdict, with the scan's own locks. On the last try it records a failure in the
 * verdict log as it does on a job's last delivery.
 */
async function scanAndAct(
  ref: MailboxMessageRef,
  context: MessageStepContext,
  deps: MessageStepDependencies,
  lastTry: boolean,
): Promise<StepResult> {
  const { arrival } = deps;
  let failureCode: string | undefined;
  const logger: Logger = {
    ...arrival.logger,
    warn: (message, fields) => {
      if (typeof fields?.code === 'string') {
        failureCode = fields.code;
      }
      arrival.logger.warn(message, fields);
    },
  };
  const outcome = await handleScanMessage(
    {
      kind: 'scan-message',
      mailbox: context.mailbox,
      messageId: ref.id,
      trigger: context.trigger,
      enqueuedAt: new Date().toISOString(),
    },
    { deliveryCount: lastTry ? arrival.settings.queue.maxDeliveryCount : 1 },
    { ...arrival, logger },
  );
  switch (outcome) {
    case 'acted':
    case 'duplicate': {
      const lock = await arrival.locks.findByItem(context.mailboxKey, ref.id);
      return {
        outcome: 'acted',
        category: lock?.category,
        action: lock?.action,
        rule: lock?.signatures,
        quarantineId: lock?.quarantineId,
        lockKey: lock?.lockKey,
      };
    }
    case 'draft':
    case 'in-quarantine-folder':
      return { outcome: 'skipped', error: outcome };
    case 'gone':
      return { outcome: 'error', error: 'message-gone' };
    case 'failed':
      return { outcome: 'error', error: failureCode ?? 'scan-failed' };
    case 'in-progress':
    case 'lease-lost':
      throw new ScannerError('mailbox-unavailable', 'The message lock is held by another invocation; the scan tries again');
  }
}

function signaturesOf(findings: ReadonlyArray<{ signature: string }>): string | undefined {
  const signatures = [...new Set(findings.map((finding) => finding.signature))].join(',');
  return signatures === '' ? undefined : signatures.slice(0, 2000);
}
