import { ownAddresses } from '../auth/own-addresses.js';
import type { Principal } from '../auth/principal.js';
import type { Category } from '../scanning/types.js';
import { normalizeMailbox } from './quarantine-id.js';

/**
 * The one place that decides what a caller may do with an item they can see. The list rows, the
 * item view and every changing route ask it, so that the buttons a client shows and the checks
 * the API makes cannot drift apart.
 */

/** Something a caller can do with a quarantined item. */
export type ItemAction = 'download' | 'release' | 'request-release' | 'delete';

/** Every action, in the order clients show them. */
export const ITEM_ACTIONS: readonly ItemAction[] = [
  'download',
  'release',
  'request-release',
  'delete',
];

/**
 * Categories a user without a role releases directly. mailsweep files bulk mail under `spam`
 * (with a bulk finding), so spam covers both. Everything else a user may only ask for.
 */
export const USER_RELEASABLE_CATEGORIES: readonly Category[] = ['spam'];

/**
 * Categories whose message a user without a role may not download, because the download would put
 * a live sample on their machine. Unscannable items count too, because the scanner could not see
 * all of their content (an archive nested past the depth limit, an archive format it cannot open),
 * so they may hide malware. Administrators and readers download all of these, and get malware and
 * unscannable items as an encrypted zip by default.
 */
export const DANGEROUS_CATEGORIES: readonly Category[] = ['malware', 'phishing', 'unscannable'];

/** Categories whose download is an encrypted zip unless the caller asks for `format=eml`. */
export const ZIP_BY_DEFAULT_CATEGORIES: readonly Category[] = ['malware', 'unscannable'];

/** Facts the policy needs about an item the caller can already see. */
export interface PolicyItem {
  /** Unset or empty for an item stored by the command line, which has no mailbox to release to. */
  mailbox?: string;
  category: Category;
  /** Set once the item was released. */
  releasedAt?: string;
  /** True while the item is on legal hold, which blocks delete. */
  legalHold?: boolean;
}

/**
 * Returns the actions the caller may take on an item they may read. Administrators may do
 * everything. Readers download everything, and otherwise act like a user on their own mailbox.
 * A user acts only on items whose mailbox is one of their own addresses (primary or alias):
 * releasing spam, requesting the release of anything else, deleting. A released item can no
 * longer be released or requested, and an item on legal hold cannot be deleted by anyone. An item
 * without a mailbox offers no `release`, because there is nowhere to release it to. An
 * administrator can still copy it to other recipients, which the release route checks itself.
 */
export function allowedActions(principal: Principal, item: PolicyItem): ItemAction[] {
  const actions = new Set<ItemAction>();
  const released = item.releasedAt !== undefined;
  const owner = isMailboxOwner(principal, item.mailbox);
  const releasable = !released && normalizeMailbox(item.mailbox) !== '';

  if (principal.isAdmin || principal.isReader === true || !DANGEROUS_CATEGORIES.includes(item.category)) {
    actions.add('download');
  }
  if (principal.isAdmin) {
    if (releasable) {
      actions.add('release');
    }
    if (item.legalHold !== true) {
      actions.add('delete');
    }
    return ITEM_ACTIONS.filter((action) => actions.has(action));
  }
  if (owner && !released) {
    actions.add(USER_RELEASABLE_CATEGORIES.includes(item.category) ? 'release' : 'request-release');
  }
  if (owner && item.legalHold !== true) {
    actions.add('delete');
  }
  return ITEM_ACTIONS.filter((action) => actions.has(action));
}

/** True when the item's mailbox is one of the caller's own addresses (primary or alias). */
export function isMailboxOwner(principal: Principal, mailbox: string | undefined): boolean {
  const item = normalizeMailbox(mailbox);
  return item !== '' && ownAddresses(principal).includes(item);
}
