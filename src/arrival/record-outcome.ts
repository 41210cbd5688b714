import type { ScanMessageJob } from '../queue/jobs.js';
import type { Category } from '../scanning/types.js';
import { toError } from '../shared/errors.js';
import type { ArrivalDependencies } from './arrival-context.js';
import { LeaseLostError, type MessageLock } from './message-locks.js';
import { toItemKey } from './table-keys.js';
import { MAX_SIGNATURES_CHARS, type VerdictRecord } from './verdict-log.js';

/** State of one scan-message invocation, filled in as it goes. */
export interface JobState {
  job: ScanMessageJob;
  mailboxKey: string;
  internetMessageId?: string;
  /** This invocation's claim, once it has one. */
  lock?: MessageLock;
}

const CATEGORIES: readonly string[] = ['clean', 'spam', 'phishing', 'malware', 'policy', 'unscannable'];

/** Reads a category stored on a lock row, or undefined when the row holds none or garbage. */
export function toCategory(value: string | undefined): Category | undefined {
  return value !== undefined && CATEGORIES.includes(value) ? (value as Category) : undefined;
}

/**
 * Writes the job's verdict log entry. The entry's key comes from the lock (its first claim time
 * and key) or, before any claim, from the job, so that a retried job overwrites its own entry.
 * @throws ScannerError `blob-unavailable` when Table storage fails.
 */
export async function recordVerdict(
  state: JobState,
  deps: ArrivalDependencies,
  entry: Omit<VerdictRecord, 'mailbox' | 'time' | 'trigger' | 'internetMessageId'>,
): Promise<void> {
  const { job, lock } = state;
  const keyTime = new Date(lock?.firstSeenAt ?? job.enqueuedAt);
  const keySuffix = lock?.lockKey ?? toItemKey(job.messageId);
  await deps.verdictLog.record(
    {
      ...entry,
      mailbox: job.mailbox,
      internetMessageId: state.internetMessageId ?? lock?.internetMessageId,
      time: new Date().toISOString(),
      trigger: job.trigger,
      signatures: entry.signatures?.slice(0, MAX_SIGNATURES_CHARS),
    },
    Number.isFinite(keyTime.getTime()) ? keyTime : new Date(),
    keySuffix,
  );
}

/**
 * Records a failure in the verdict log and marks the lock `failed`, so that a later job (a
 * catch-up) may claim the message again. Never throws: the caller is already handling an error.
 */
export async function recordFailure(state: JobState, code: string, deps: ArrivalDependencies): Promise<void> {
  const { lock } = state;
  try {
    await recordVerdict(state, deps, {
      outcome: 'failed',
      category: toCategory(lock?.category),
      action: 'none',
      messageId: state.job.messageId,
      quarantineId: lock?.quarantineId,
      errorCode: code,
      signatures: lock?.signatures,
    });
    if (lock !== undefined) {
      state.lock = await deps.locks.update(lock, { state: 'failed', leaseUntil: 0 });
    }
  } catch (error) {
    if (error instanceof LeaseLostError) {
      return;
    }
    deps.logger.error('recording a failure in the verdict log failed', {
      mailboxHash: state.mailboxKey.slice(0, 16),
      code,
      error: toError(error).message,
    });
  }
}
