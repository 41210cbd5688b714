import type { AttachmentTarget, StoreAttachment } from './mailbox-client.js';

/**
 * Picks the listed attachment that a MIME-side target names, or undefined when none matches with
 * certainty. First by name, when the store lists exactly as many attachments of that name as the
 * MIME holds. Then by position, when the store lists exactly as many attachments as the MIME and
 * the one at the target's position has the target's name (or the target has none). Exchange
 * lists attachments in MIME order, but it may name a nameless part itself (an item attachment is
 * named by its subject), so a count that differs means the lists cannot be lined up.
 */
export function pickAttachment(
  listed: readonly StoreAttachment[],
  target: AttachmentTarget,
): StoreAttachment | undefined {
  const name = target.name.toLowerCase();
  if (name !== '') {
    const sameName = listed.filter((attachment) => attachment.name.toLowerCase() === name);
    if (sameName.length === target.nameCount) {
      return sameName[target.nameIndex];
    }
  }
  if (listed.length !== target.count) {
    return undefined;
  }
  const atIndex = listed[target.index];
  if (atIndex === undefined) {
    return undefined;
  }
  return name === '' || atIndex.name.toLowerCase() === name ? atIndex : undefined;
}
