import type { Settings } from '../config/settings.js';
import type { MailboxRecord, MailboxStore } from './mailbox-store.js';

/** An on-premises mailbox that mailsweep watches through EWS. */
export interface OnPremMailbox {
  /** Lower-cased address. */
  mailbox: string;
  /**
   * True when the Graph subscription sync already sends this mailbox's catch-up jobs: it has a
   * row in the `mailboxes` table whose state is not `on-premises`.
   */
  graphCatchesUp: boolean;
}

/**
 * Lists the on-premises mailboxes to watch: those named in MAILSWEEP_ONPREM_MAILBOXES, and the
 * monitored mailboxes (rows of the `mailboxes` table) that the Graph subscription manager marked
 * `on-premises` or whose domain is in MAILSWEEP_ONPREM_DOMAINS.
 */
export async function listOnPremMailboxes(
  settings: Settings,
  mailboxes: MailboxStore,
): Promise<OnPremMailbox[]> {
  const found = new Map<string, OnPremMailbox>();
  for (const address of settings.hybrid.onPremMailboxes) {
    const mailbox = address.toLowerCase();
    found.set(mailbox, { mailbox, graphCatchesUp: false });
  }
  for (const record of await mailboxes.list()) {
    const named = found.has(record.mailbox);
    if (named || isOnPremRecord(settings, record)) {
      found.set(record.mailbox, {
        mailbox: record.mailbox,
        graphCatchesUp: record.state !== 'on-premises',
      });
    }
  }
  return [...found.values()];
}

/** True when the mailbox is still one of those {@link listOnPremMailboxes} returns. */
export async function isOnPremMonitored(
  mailbox: string,
  settings: Settings,
  mailboxes: MailboxStore,
): Promise<boolean> {
  const key = mailbox.toLowerCase();
  if (settings.hybrid.onPremMailboxes.includes(key)) {
    return true;
  }
  const record = await mailboxes.get(key);
  return record !== undefined && isOnPremRecord(settings, record);
}

function isOnPremRecord(settings: Settings, record: MailboxRecord): boolean {
  if (record.state === 'on-premises') {
    return true;
  }
  const domain = record.mailbox.slice(record.mailbox.lastIndexOf('@') + 1);
  return settings.hybrid.onPremDomains.includes(domain);
}
