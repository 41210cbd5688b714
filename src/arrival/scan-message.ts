import { createHash } from 'node:crypto';

import type { MailboxMessageRef } from '../mailbox/mailbox-client.js';
import { scanMessageJobSchema, type ScanMessageJob } from '../queue/jobs.js';
import type { QueueDelivery } from '../functions-host/registry.js';
import { shouldRetry } from '../scanning/engines.js';
import type { Verdict } from '../scanning/types.js';
import { ScannerError, toError } from '../shared/errors.js';
import type { ArrivalDependencies, ScanMessageOutcome } from './arrival-context.js';
import { finishDecided, resolveGone } from './finish-message.js';
import { LeaseLostError, isFinal, type MessageLock } from './message-locks.js';
import { readMime } from './mime-download.js';
import { encodeNotices } from './rule-notices.js';
import { encodeRemovals } from './rule-removals.js';
import { recordFailure, recordVerdict, type JobState } from './record-outcome.js';
import { toLockKey, toMailboxKey } from './table-keys.js';

/**
 * Handles one scan-message job from the scan queue. Order of operations: skip what must not be
 * scanned (drafts, mailsweep's own quarantine folder, items already handled), claim the message's
 * lock, download and scan, store and verify the quarantine copy, mark the lock `decided`, act in
 * the mailbox, record the verdict, mark the lock `done`. docs/architecture.md explains the
 * recovery of each partial failure.
 *
 * Resolves when the job is finished, including recorded failures that a retry cannot fix.
 * @throws ScannerError for an invalid job (`input-unreadable`) and for transient failures, so
 *   that the queue delivers the job again and dead-letters it after its last try; on the last
 *   try the failure is recorded in the verdict log first.
 */
export async function handleScanMessage(
  message: unknown,
  delivery: QueueDelivery,
  deps: ArrivalDependencies,
): Promise<ScanMessageOutcome> {
  const parsed = scanMessageJobSchema.safeParse(message);
  if (!parsed.success) {
    const paths = parsed.error.issues.map((issue) => issue.path.join('.') || '(root)');
    deps.logger.error('invalid scan-message job', {
      issues: [...new Set(paths)].join(','),
      deliveryCount: delivery.deliveryCount,
      queueMessageId: delivery.messageId,
    });
    // NOTE: a Functions queue trigger in Node cannot dead-letter a message directly, so an invalid
    // job is thrown on each delivery and the queue dead-letters it after its last try.
    throw new ScannerError('input-unreadable', 'Invalid scan-message job', {
      fields: { issues: [...new Set(paths)].join(',') },
    });
  }

  const state: JobState = { job: parsed.data, mailboxKey: toMailboxKey(parsed.data.mailbox) };
  try {
    const outcome = await processJob(state, deps);
    deps.logger.info('scan-message finished', logFields(state, delivery, { outcome }));
    return outcome;
  } catch (thrown) {
    return handleFailure(thrown, state, delivery, deps);
  }
}

async function handleFailure(
  thrown: unknown,
  state: JobState,
  delivery: QueueDelivery,
  deps: ArrivalDependencies,
): Promise<ScanMessageOutcome> {
  if (thrown instanceof LeaseLostError) {
    deps.logger.warn('message lock taken over; stopped without acting', logFields(state, delivery));
    return 'lease-lost';
  }
  const error = thrown instanceof ScannerError ? thrown : undefined;
  const code = error?.code ?? 'internal-error';
  // Errors that are not ScannerErrors are bugs or unmapped SDK failures: retry them like
  // transient ones, so that one bad run does not lose the message.
  const transient = error === undefined || error.transient;
  const lastTry = delivery.deliveryCount >= deps.settings.queue.maxDeliveryCount;
  const fields = logFields(state, delivery, { code, error: toError(thrown).message });

  if (transient && !lastTry) {
    deps.logger.warn('scan-message failed; the queue retries it', fields);
    if (state.lock !== undefined) {
      await deps.locks.release(state.lock);
    }
    throw thrown;
  }
  await recordFailure(state, code, deps);
  if (transient) {
    deps.logger.error('scan-message failed on its last try; dead-lettering', fields);
    throw thrown;
  }
  deps.logger.warn('scan-message failed permanently; recorded', fields);
  return 'failed';
}

async function processJob(state: JobState, deps: ArrivalDependencies): Promise<ScanMessageOutcome> {
  const { job, mailboxKey } = state;
  const linked = await deps.locks.findByItem(mailboxKey, job.messageId);
  if (linked !== undefined && isFinal(linked)) {
    return 'duplicate';
  }

  let ref: MailboxMessageRef;
  try {
    ref = await deps.client.getMessage(job.mailbox, job.messageId);
  } catch (error) {
    if (error instanceof ScannerError && error.code === 'mailbox-not-found') {
      return resolveGone(state, linked, deps);
    }
    throw error;
  }
  state.internetMessageId = ref.internetMessageId;
  if (ref.isDraft === true) {
    return 'draft';
  }
  if (await isInQuarantineFolder(ref, job.mailbox, deps)) {
    return 'in-quarantine-folder';
  }

  // Without an internet message id the lock is keyed by the content, so the MIME comes first.
  let raw: Buffer | undefined;
  let lockKey: string;
  if (ref.internetMessageId !== undefined) {
    lockKey = toLockKey({ internetMessageId: ref.internetMessageId });
  } else {
    raw = await download(state, deps);
    if (raw === undefined) {
      await recordTooLarge(state, deps);
      return 'acted';
    }
    lockKey = toLockKey({ sha256: createHash('sha256').update(raw).digest('hex') });
  }

  const claim = await deps.locks.claim(mailboxKey, lockKey, {
    messageId: job.messageId,
    internetMessageId: ref.internetMessageId,
    receivedAt: ref.receivedAt,
  });
  if (claim.kind === 'busy') {
    return 'in-progress';
  }
  await deps.locks.linkItem(mailboxKey, job.messageId, lockKey);
  if (claim.kind === 'finished') {
    return 'duplicate';
  }
  state.lock = claim.lock;
  if (claim.lock.state === 'decided') {
    return finishDecided(state, deps);
  }
  return scanAndAct(state, ref, raw, deps);
}

async function scanAndAct(
  state: JobState,
  ref: MailboxMessageRef,
  downloaded: Buffer | undefined,
  deps: ArrivalDependencies,
): Promise<ScanMessageOutcome> {
  const { job } = state;
  const raw = downloaded ?? (await download(state, deps));
  if (raw === undefined) {
    await recordTooLarge(state, deps);
    return 'acted';
  }

  const result = await scan(raw, ref, job, deps);
  const { summary } = result;
  const verdict = await honourReleases(result.verdict, raw, ref.internetMessageId ?? summary.internetMessageId, summary.sender, deps);
  if (shouldRetry(verdict)) {
    // A daemon engine (clamd, rspamd) was down or answered nonsense: the message goes back to
    // the queue rather than being quarantined as unscannable for a fault that will pass.
    throw new ScannerError('engine-failed', 'A scan engine was unavailable; the job is retried', {
      fields: { engines: [...new Set(verdict.findings.filter((finding) => finding.transient).map((finding) => finding.engine))].join(',') },
    });
  }
  const removesMessage = verdict.action === 'quarantine' || verdict.action === 'delete';
  // Attachments are removed only from a message that stays; the original goes to the quarantine.
  const ruleRemovals = removesMessage ? undefined : await encodeRemovals(raw, verdict, deps);
  let quarantineId: string | undefined;
  if (removesMessage || ruleRemovals !== undefined) {
    // The copy is stored and read back before anything changes in the mailbox.
    const stored = await deps.store.put(raw, {
      mailbox: job.mailbox,
      folder: ref.folderId,
      messageId: job.messageId,
      internetMessageId: ref.internetMessageId ?? summary.internetMessageId,
      sender: summary.sender,
      recipients: summary.recipients,
      subject: summary.subject,
      receivedAt: ref.receivedAt,
      verdict,
    });
    await deps.store.verify(stored.id);
    quarantineId = stored.id;
  }

  state.lock = await deps.locks.update(requireLock(state), {
    state: 'decided',
    category: verdict.category,
    action: verdict.action,
    quarantineId,
    signatures: [...new Set(verdict.findings.map((finding) => finding.signature))].join(','),
    decidingRule: verdict.decidingRule,
    ruleTags: encodeRuleTags(verdict),
    ruleRemovals,
    ruleNotices: encodeNotices(verdict, summary),
  });
  return finishDecided(state, deps);
}

async function scan(raw: Buffer, ref: MailboxMessageRef, job: ScanMessageJob, deps: ArrivalDependencies) {
  const receivedAt = ref.receivedAt === undefined ? undefined : new Date(ref.receivedAt);
  const groups = await deps.groupScope?.groupsOf(job.mailbox);
  try {
    return await deps.scanner.scan(raw, {
      mailbox: job.mailbox,
      messageId: job.messageId,
      folder: ref.folderId,
      trigger: job.trigger,
      groups,
      receivedAt: receivedAt !== undefined && Number.isFinite(receivedAt.getTime()) ? receivedAt : undefined,
    });
  } catch (error) {
    if (error instanceof ScannerError) {
      throw error;
    }
    throw new ScannerError('engine-failed', 'The scanner failed on the message', { cause: error });
  }
}

/**
 * Turns a removing action into `none` for a message that was released from quarantine before
 * (same internet message id and bytes, for example a copy released to another mailbox), and for
 * spam from a sender an administrator allowed. Malware and phishing from an allowed sender are
 * still acted on: allowing a sender is about unwanted mail, not dangerous mail.
 */
async function honourReleases(
  verdict: Verdict,
  raw: Buffer,
  internetMessageId: string | undefined,
  sender: string | undefined,
  deps: ArrivalDependencies,
): Promise<Verdict> {
  const removing = verdict.action === 'quarantine' || verdict.action === 'delete' || verdict.action === 'junk';
  if (deps.releases === undefined || !removing) {
    return verdict;
  }
  const sha256 = createHash('sha256').update(raw).digest('hex');
  if (verdict.action !== 'junk' && (await deps.releases.isReleased(internetMessageId, sha256))) {
    deps.logger.info('released message not quarantined again', { category: verdict.category });
    return { ...verdict, action: 'none' };
  }
  if (verdict.category === 'spam' && (await deps.releases.isSenderAllowed(sender))) {
    deps.logger.info('spam from an allowed sender left in place', { category: verdict.category });
    return { ...verdict, action: 'none' };
  }
  return verdict;
}

/** Tells whether the item sits in the hidden folder that quarantine moves messages to. */
async function isInQuarantineFolder(ref: MailboxMessageRef, mailbox: string, deps: ArrivalDependencies): Promise<boolean> {
  if (ref.folderId === undefined || deps.settings.arrival.quarantineRemoval !== 'hidden-folder') {
    return false;
  }
  return ref.folderId === (await deps.hiddenFolders.get(mailbox));
}

/** Downloads the MIME, or returns undefined when it is larger than the message size limit. */
async function download(state: JobState, deps: ArrivalDependencies): Promise<Buffer | undefined> {
  const mime = await deps.client.getMime(state.job.mailbox, state.job.messageId);
  const result = await readMime(mime, deps.settings.limits.maxMessageBytes);
  return result.kind === 'complete' ? result.raw : undefined;
}

/**
 * Records a message over the size limit as unscannable without acting: quarantine needs the whole
 * message in the store, and a partial copy must never stand in for it.
 */
async function recordTooLarge(state: JobState, deps: ArrivalDependencies): Promise<void> {
  deps.logger.warn('message over the size limit; recorded unscannable, not acted on', {
    mailboxHash: state.mailboxKey.slice(0, 16),
    maxMessageBytes: deps.settings.limits.maxMessageBytes,
  });
  await recordVerdict(state, deps, {
    outcome: 'scanned',
    category: 'unscannable',
    action: 'none',
    messageId: state.job.messageId,
    errorCode: 'limit.message-bytes',
  });
  if (state.lock !== undefined) {
    state.lock = await deps.locks.update(state.lock, { state: 'done', category: 'unscannable', action: 'none' });
  }
}

function requireLock(state: JobState): MessageLock {
  if (state.lock === undefined) {
    throw new Error('scan-message reached a lock update without a claim');
  }
  return state.lock;
}

function logFields(state: JobState, delivery: QueueDelivery, extra: Record<string, string> = {}) {
  return {
    mailboxHash: state.mailboxKey.slice(0, 16),
    lockKey: state.lock?.lockKey,
    trigger: state.job.trigger,
    deliveryCount: delivery.deliveryCount,
    queueMessageId: delivery.messageId,
    ...extra,
  };
}

/** Keeps the `tag` actions of the rules for the mailbox step. */
function encodeRuleTags(verdict: Verdict): string | undefined {
  const requests = verdict.ruleActions ?? [];
  const tags = requests.flatMap((request) =>
    request.type === 'tag'
      ? [{ category: request.category, flag: request.flag, subjectPrefix: request.subjectPrefix }]
      : [],
  );
  return tags.length > 0 ? JSON.stringify(tags) : undefined;
}
