import { createHash } from 'node:crypto';

import type { Logger } from '../shared/logger.js';
import type { MailboxRecord } from './mailbox-store.js';

/** Problem of a monitored mailbox. */
export type MailboxProblem = 'no-live-subscription' | 'silent';

/** Returns a short hash of an address, for logs, which must not contain addresses. */
export function hashMailbox(mailbox: string): string {
  return createHash('sha256').update(mailbox.toLowerCase()).digest('hex').slice(0, 16);
}

/**
 * Finds what is wrong with a mailbox: no subscription, or one that has expired, or no
 * notification for longer than `silentAfterMs` (counted from when it was added if it never had
 * one). Mailboxes on premises are the EWS path's concern and have no problem here.
 */
export function findMailboxProblems(
  record: MailboxRecord,
  now: Date,
  silentAfterMs: number,
): MailboxProblem[] {
  if (record.state === 'on-premises') {
    return [];
  }
  const problems: MailboxProblem[] = [];
  const expiresAt = Date.parse(record.subscriptionExpiresAt ?? '');
  if (record.state !== 'active' || !(expiresAt > now.getTime())) {
    problems.push('no-live-subscription');
  }
  const lastHeard = Date.parse(record.lastNotificationAt ?? record.addedAt);
  if (!(now.getTime() - lastHeard <= silentAfterMs)) {
    problems.push('silent');
  }
  return problems;
}

/**
 * Logs one error line per problem mailbox, which Application Insights alerts can match on the
 * message, and returns how many mailboxes had a problem.
 */
export function logMailboxProblems(
  records: readonly MailboxRecord[],
  now: Date,
  silentAfterMs: number,
  logger: Logger,
): number {
  let unhealthy = 0;
  for (const record of records) {
    const problems = findMailboxProblems(record, now, silentAfterMs);
    if (problems.length === 0) continue;
    unhealthy += 1;
    logger.error('Monitored mailbox is not covered by notifications', {
      mailboxHash: hashMailbox(record.mailbox),
      problems: problems.join(','),
      state: record.state,
      subscriptionId: record.subscriptionId,
      lastError: record.lastError,
    });
  }
  return unhealthy;
}
