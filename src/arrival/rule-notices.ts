import { z } from 'zod';

import type { MessageSummary } from '../scanning/message-summary.js';
import type { Verdict } from '../scanning/types.js';
import type { ArrivalDependencies } from './arrival-context.js';
import type { MessageLock } from './message-locks.js';
import type { JobState } from './record-outcome.js';

/** Notifications kept on the message lock between the scan and the mailbox step. */
const storedNoticesSchema = z.object({
  sender: z.string().optional(),
  subject: z.string().optional(),
  notices: z.array(
    z.object({ rule: z.string(), to: z.enum(['admin', 'recipient']), text: z.string() }),
  ),
});

/** Maximum length of the sender and subject kept on the lock, in characters. */
const MAX_STORED_CHARS = 512;

/**
 * Returns the rules' notify requests as JSON for the message lock, one per rule (a rule that
 * matched several attachments notifies once), with the message's sender and subject.
 */
export function encodeNotices(verdict: Verdict, summary: MessageSummary): string | undefined {
  const byRule = new Map<string, { rule: string; to: 'admin' | 'recipient'; text: string }>();
  for (const request of verdict.ruleActions ?? []) {
    if (request.type === 'notify' && !byRule.has(request.rule)) {
      byRule.set(request.rule, { rule: request.rule, to: request.to, text: request.text });
    }
  }
  if (byRule.size === 0) {
    return undefined;
  }
  return JSON.stringify({
    sender: summary.sender?.slice(0, MAX_STORED_CHARS),
    subject: summary.subject?.slice(0, MAX_STORED_CHARS),
    notices: [...byRule.values()],
  });
}

/**
 * Sends the notifications stored on the lock that no earlier try sent. Their rules are written to
 * the lock before sending, so a notification goes out at most once per message and rule: a try
 * that fails after that write loses the notification rather than sending it twice.
 * @throws LeaseLostError when another invocation took the message over.
 */
export async function sendNotices(state: JobState, deps: ArrivalDependencies): Promise<void> {
  const lock = state.lock as MessageLock;
  const stored = decodeNotices(lock.ruleNotices);
  if (stored === undefined) {
    if (lock.ruleNotices !== undefined) {
      deps.logger.error('stored rule notifications are invalid; none sent', {
        lockKey: lock.lockKey,
      });
    }
    return;
  }
  const done = new Set(parseJson(z.array(z.string()), lock.notifiedRules) ?? []);
  const pending = stored.notices.filter((notice) => !done.has(notice.rule));
  if (pending.length === 0) {
    return;
  }
  const notifiedRules = JSON.stringify([...done, ...pending.map((notice) => notice.rule)]);
  state.lock = await deps.locks.update(lock, { notifiedRules });

  for (const notice of pending) {
    if (deps.notifier === undefined) {
      deps.logger.info('rule notification not sent: no notifier is configured', {
        rule: notice.rule,
      });
      continue;
    }
    const outcome = await deps.notifier.send(notice, {
      mailbox: state.job.mailbox,
      sender: stored.sender,
      subject: stored.subject,
    });
    deps.logger.info('rule notification handled', { rule: notice.rule, outcome });
  }
}

function decodeNotices(encoded: string | undefined) {
  return parseJson(storedNoticesSchema, encoded);
}

function parseJson<T>(schema: z.ZodType<T>, encoded: string | undefined): T | undefined {
  if (encoded === undefined) {
    return undefined;
  }
  try {
    const parsed = schema.safeParse(JSON.parse(encoded));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

