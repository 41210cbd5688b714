import { z } from 'zod';

import { canPrefixSubject, canRemoveAttachments } from '../mailbox/mailbox-client.js';
import type { Verdict } from '../scanning/types.js';
import { ScannerError } from '../shared/errors.js';
import type { ArrivalDependencies } from './arrival-context.js';
import { findAttachmentTargets } from './attachment-targets.js';

/** Subject prefix that marks a message in an EWS mailbox whose attachment was removed. */
export const REMOVAL_SUBJECT_PREFIX = '[Attachment removed] ';

/** One attachment a rule asked to remove, as kept on the message lock until it is carried out. */
const removalSchema = z.object({
  rule: z.string(),
  target: z.object({
    mimePath: z.string(),
    name: z.string(),
    contentType: z.string(),
    index: z.number().int(),
    count: z.number().int(),
    nameIndex: z.number().int(),
    nameCount: z.number().int(),
  }),
});

type Removal = z.infer<typeof removalSchema>;

/**
 * Finds the store-level attachment of every removeAttachment request and returns them as JSON for
 * the message lock. Two requests for parts of one attachment (two members of one zip) become one
 * removal. A request whose part is not an attachment in the store (a uuencoded block in the body)
 * is logged and dropped.
 */
export async function encodeRemovals(
  raw: Uint8Array,
  verdict: Verdict,
  deps: ArrivalDependencies,
): Promise<string | undefined> {
  const requests = (verdict.ruleActions ?? []).flatMap((request) =>
    request.type === 'removeAttachment' ? [request] : [],
  );
  if (requests.length === 0) {
    return undefined;
  }
  const targets = await findAttachmentTargets(
    raw,
    requests.map((request) => request.mimePath),
    deps.settings.limits,
  );
  const removals = new Map<string, Removal>();
  for (const request of requests) {
    const target = targets.get(request.mimePath);
    if (target === undefined) {
      deps.logger.warn('attachment not removed: the part is not an attachment in the store', {
        rule: request.rule,
        mimePath: request.mimePath,
      });
      continue;
    }
    if (!removals.has(target.mimePath)) {
      removals.set(target.mimePath, { rule: request.rule, target });
    }
  }
  return removals.size > 0 ? JSON.stringify([...removals.values()]) : undefined;
}

/**
 * Removes the attachments stored on the lock from a message that stays in the mailbox, then marks
 * the message: a category everywhere, and a subject prefix where the store allows it (EWS). The
 * caller must have stored and verified the original in the quarantine first. An attachment the
 * store no longer lists counts as removed, because a redelivered job repeats this step.
 * @throws ScannerError from the mailbox client, so that a transient failure is retried.
 */
export async function applyRemovals(
  encoded: string | undefined,
  mailbox: string,
  messageId: string,
  deps: ArrivalDependencies,
): Promise<void> {
  const removals = decodeRemovals(encoded, messageId, deps);
  if (removals.length === 0) {
    return;
  }
  if (!canRemoveAttachments(deps.client)) {
    deps.logger.warn('attachments not removed: the mailbox store cannot remove one', {
      messageId,
      rules: removals.map((removal) => removal.rule).join(','),
    });
    return;
  }
  let removed = 0;
  for (const removal of removals) {
    const result = await deps.client.removeAttachment(mailbox, messageId, removal.target);
    if (result === 'not-found') {
      deps.logger.warn('attachment to remove not found; an earlier try may have removed it', {
        messageId,
        rule: removal.rule,
        mimePath: removal.target.mimePath,
      });
      continue;
    }
    removed += 1;
    deps.logger.info('attachment removed by a rule', {
      messageId,
      rule: removal.rule,
      mimePath: removal.target.mimePath,
    });
  }
  // NOTE: a try that removed the attachments but failed before marking leaves the message
  // unmarked, because the redelivered job finds nothing to remove and cannot tell why.
  if (removed > 0) {
    await markMessage(mailbox, messageId, deps);
  }
}

async function markMessage(mailbox: string, messageId: string, deps: ArrivalDependencies) {
  const category = `${deps.settings.arrival.tagCategory}: attachment removed`;
  await deps.client.tagMessage(mailbox, messageId, { categories: [category] });
  if (!canPrefixSubject(deps.client)) {
    return;
  }
  try {
    await deps.client.prefixSubject(mailbox, messageId, REMOVAL_SUBJECT_PREFIX);
  } catch (error) {
    // Graph changes a received subject only on drafts, so there the category is the only mark.
    if (error instanceof ScannerError && !error.transient) {
      return;
    }
    throw error;
  }
}

function decodeRemovals(
  encoded: string | undefined,
  messageId: string,
  deps: ArrivalDependencies,
): Removal[] {
  if (encoded === undefined) {
    return [];
  }
  let json: unknown;
  try {
    json = JSON.parse(encoded);
  } catch {
    json = undefined;
  }
  const parsed = z.array(removalSchema).safeParse(json);
  if (!parsed.success) {
    deps.logger.error('stored attachment removals are invalid; none carried out', { messageId });
    return [];
  }
  return parsed.data;
}
