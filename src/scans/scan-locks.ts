import type { TableClient } from '@azure/data-tables';

import { MessageLocks, type ClaimResult, type LockIdentity, type MessageLock } from '../arrival/message-locks.js';

/**
 * Message locks of one scan, kept apart from scan on arrival's locks by a partition suffix. A scan
 * in act mode runs the scan-on-arrival consumer with these locks, so that within the scan a
 * message is scanned and acted on once (a resumed job finds the lock `done` or `decided`), while a
 * message that scan on arrival already finished is scanned again when the scan asks for it.
 */
export class ScanLocks extends MessageLocks {
  private readonly suffix: string;

  constructor(table: TableClient, scanId: string) {
    super(table);
    this.suffix = scanLockSuffix(scanId);
  }

  override claim(mailboxKey: string, lockKey: string, identity: LockIdentity): Promise<ClaimResult> {
    return super.claim(this.scoped(mailboxKey), lockKey, identity);
  }

  override read(mailboxKey: string, lockKey: string): Promise<MessageLock | undefined> {
    return super.read(this.scoped(mailboxKey), lockKey);
  }

  override linkItem(mailboxKey: string, messageId: string, lockKey: string): Promise<void> {
    return super.linkItem(this.scoped(mailboxKey), messageId, lockKey);
  }

  override findByItem(mailboxKey: string, messageId: string): Promise<MessageLock | undefined> {
    return super.findByItem(this.scoped(mailboxKey), messageId);
  }

  /**
   * Adds the scan's suffix once. The base class calls `read` with the key it was given, which is
   * already scoped, so scoping must be idempotent.
   */
  private scoped(mailboxKey: string): string {
    return mailboxKey.endsWith(this.suffix) ? mailboxKey : `${mailboxKey}${this.suffix}`;
  }
}

function scanLockSuffix(scanId: string): string {
  return `-${scanId}`;
}

/** Returns the lock partition of one mailbox in one scan. */
export function scanLockPartition(mailboxKey: string, scanId: string): string {
  return `${mailboxKey}${scanLockSuffix(scanId)}`;
}
