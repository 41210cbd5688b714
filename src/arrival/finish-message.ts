import { z } from 'zod';

import { canPrefixSubject, type FolderRef } from '../mailbox/mailbox-client.js';
import type { Action } from '../scanning/types.js';
import { ScannerError } from '../shared/errors.js';
import type { ArrivalDependencies, ScanMessageOutcome } from './arrival-context.js';
import { applyAction, destinationOf } from './mailbox-actions.js';
import type { MessageLock } from './message-locks.js';
import { recordVerdict, toCategory, type JobState } from './record-outcome.js';
import { sendNotices } from './rule-notices.js';
import { applyRemovals } from './rule-removals.js';

/** Slack around the received time when looking for a moved message, in milliseconds. */
const MOVED_MESSAGE_WINDOW_MS = 1000;

const ACTIONS: readonly string[] = ['none', 'tag', 'junk', 'quarantine', 'delete'];

/**
 * Finishes a message whose lock is `decided`: re-verifies the quarantine copy, acts in the
 * mailbox, records the verdict and marks the lock `done`. A redelivered job that finds the lock
 * `decided` starts here, so the message is never scanned or stored twice.
 */
export async function finishDecided(state: JobState, deps: ArrivalDependencies): Promise<ScanMessageOutcome> {
  const lock = state.lock as MessageLock;
  const { job } = state;
  const category = toCategory(lock.category) ?? 'unscannable';
  const action = toAction(lock.action);
  if (lock.quarantineId !== undefined) {
    await deps.store.verify(lock.quarantineId);
  }

  let messageId: string;
  try {
    messageId = await applyAction({
      client: deps.client,
      settings: deps.settings.arrival,
      hiddenFolders: deps.hiddenFolders,
      mailbox: job.mailbox,
      messageId: job.messageId,
      action,
      category,
    });
  } catch (error) {
    if (error instanceof ScannerError && error.code === 'mailbox-not-found') {
      return finishGone(state, deps);
    }
    throw error;
  }
  if (messageId !== job.messageId) {
    await deps.locks.linkItem(state.mailboxKey, messageId, lock.lockKey);
  }
  if (action !== 'quarantine' && action !== 'delete') {
    await applyRemovals(lock.ruleRemovals, job.mailbox, messageId, deps);
    await applyRuleTags(lock.ruleTags, job.mailbox, messageId, deps);
  }
  await sendNotices(state, deps);
  await recordVerdict(state, deps, {
    outcome: 'scanned',
    category,
    action,
    messageId,
    quarantineId: lock.quarantineId,
    signatures: lock.signatures,
    decidingRule: lock.decidingRule,
  });
  state.lock = await deps.locks.update(state.lock as MessageLock, { state: 'done', messageId });
  return 'acted';
}

/**
 * Handles a job whose item no longer exists. When an earlier try of this message reached
 * `decided`, its move or delete may have happened before that try failed: a delete counts as
 * done, and a move counts as done when the message is found in the destination folder.
 * Otherwise the message is recorded as gone, and no retry follows.
 */
export async function resolveGone(
  state: JobState,
  linked: MessageLock | undefined,
  deps: ArrivalDependencies,
): Promise<ScanMessageOutcome> {
  if (linked === undefined) {
    await recordVerdict(state, deps, { outcome: 'gone', action: 'none', messageId: state.job.messageId });
    return 'gone';
  }
  const claim = await deps.locks.takeOver(linked);
  if (claim.kind === 'busy') {
    return 'in-progress';
  }
  if (claim.kind === 'finished') {
    return 'duplicate';
  }
  state.lock = claim.lock;
  if (claim.lock.state !== 'decided') {
    return finishGone(state, deps);
  }

  const action = toAction(claim.lock.action);
  if (action === 'delete' || (action === 'quarantine' && deps.settings.arrival.quarantineRemoval === 'delete')) {
    return finishConfirmed(state, deps, state.job.messageId);
  }
  const destination = await destinationOf(action, deps.settings.arrival, deps.hiddenFolders, state.job.mailbox);
  const movedId = destination === undefined ? undefined : await findMoved(claim.lock, destination, state, deps);
  if (movedId === undefined) {
    return finishGone(state, deps);
  }
  await deps.locks.linkItem(state.mailboxKey, movedId, claim.lock.lockKey);
  return finishConfirmed(state, deps, movedId);
}

async function finishConfirmed(state: JobState, deps: ArrivalDependencies, messageId: string): Promise<ScanMessageOutcome> {
  // The earlier try moved or deleted the message but may have stopped before notifying.
  await sendNotices(state, deps);
  const lock = state.lock as MessageLock;
  await recordVerdict(state, deps, {
    outcome: 'scanned',
    category: toCategory(lock.category),
    action: toAction(lock.action),
    messageId,
    quarantineId: lock.quarantineId,
    signatures: lock.signatures,
    decidingRule: lock.decidingRule,
  });
  state.lock = await deps.locks.update(lock, { state: 'done', messageId });
  return 'acted';
}

/** Records the message as gone, keeping what an earlier try learned (verdict, stored copy). */
async function finishGone(state: JobState, deps: ArrivalDependencies): Promise<ScanMessageOutcome> {
  const lock = state.lock as MessageLock;
  await recordVerdict(state, deps, {
    outcome: 'gone',
    category: toCategory(lock.category),
    action: 'none',
    messageId: state.job.messageId,
    quarantineId: lock.quarantineId,
    signatures: lock.signatures,
    decidingRule: lock.decidingRule,
  });
  state.lock = await deps.locks.update(lock, { state: 'gone' });
  return 'gone';
}

/** Looks for the message in the folder an earlier try moved it to, by internet message id. */
async function findMoved(
  lock: MessageLock,
  destination: FolderRef,
  state: JobState,
  deps: ArrivalDependencies,
): Promise<string | undefined> {
  const receivedAt = lock.receivedAt === undefined ? Number.NaN : Date.parse(lock.receivedAt);
  if (lock.internetMessageId === undefined || !Number.isFinite(receivedAt)) {
    return undefined;
  }
  const listing = deps.client.listMessages(state.job.mailbox, {
    folder: destination,
    receivedAfter: new Date(receivedAt - MOVED_MESSAGE_WINDOW_MS),
    receivedBefore: new Date(receivedAt + MOVED_MESSAGE_WINDOW_MS),
  });
  for await (const item of listing) {
    if (item.internetMessageId === lock.internetMessageId) {
      return item.id;
    }
  }
  return undefined;
}

function toAction(value: string | undefined): Action {
  // A decided lock always holds an action; `none` for an unreadable one acts on nothing.
  return value !== undefined && ACTIONS.includes(value) ? (value as Action) : 'none';
}

const ruleTagsSchema = z.array(
  z.object({
    category: z.string().optional(),
    flag: z.boolean().optional(),
    subjectPrefix: z.string().optional(),
  }),
);

/**
 * Applies the `tag` actions of the rules to a message left in the mailbox: categories and a flag
 * through the mailbox client, and a subject prefix where the store allows it (EWS). Categories
 * merge and a prefix is added once, so a redelivered job may apply them again.
 */
async function applyRuleTags(
  encoded: string | undefined,
  mailbox: string,
  messageId: string,
  deps: ArrivalDependencies,
): Promise<void> {
  if (encoded === undefined) {
    return;
  }
  let json: unknown;
  try {
    json = JSON.parse(encoded);
  } catch {
    json = undefined;
  }
  const parsed = ruleTagsSchema.safeParse(json);
  if (!parsed.success) {
    deps.logger.error('stored rule tags are invalid; none applied', { messageId });
    return;
  }
  const categories = parsed.data.flatMap((tag) => (tag.category === undefined ? [] : [tag.category]));
  const flag = parsed.data.some((tag) => tag.flag === true);
  if (categories.length > 0 || flag) {
    await deps.client.tagMessage(mailbox, messageId, { categories, flag });
  }
  for (const prefix of new Set(parsed.data.flatMap((tag) => (tag.subjectPrefix ? [tag.subjectPrefix] : [])))) {
    if (!canPrefixSubject(deps.client)) {
      deps.logger.warn('subject prefix not applied: the mailbox store cannot change a subject', { messageId });
      continue;
    }
    try {
      await deps.client.prefixSubject(mailbox, messageId, prefix);
    } catch (error) {
      // Graph changes a received subject only on drafts, so the router refuses Exchange Online.
      if (error instanceof ScannerError && !error.transient) {
        deps.logger.warn('subject prefix not applied', { messageId, code: error.code });
        continue;
      }
      throw error;
    }
  }
}
