import type { Settings } from '../config/settings.js';
import type { MailboxClient } from '../mailbox/mailbox-client.js';
import type { QuarantineStore } from '../quarantine/index.js';
import type { MessageScanner } from '../scanning/message-scanner.js';
import type { Logger } from '../shared/logger.js';
import type { GroupScope } from './group-scope.js';
import type { HiddenFolders } from './mailbox-actions.js';
import type { MessageLocks } from './message-locks.js';
import type { RuleNotifier } from './rule-notifier.js';
import type { VerdictLog } from './verdict-log.js';

/** Lookups the consumer makes before quarantining: was this released, is its sender allowed. */
export interface ReleaseMemory {
  /** True when exactly this message (internet message id and SHA-256 of its bytes) was released. */
  isReleased(internetMessageId: string | undefined, sha256: string): Promise<boolean>;
  /** True when an administrator allowed this sender while releasing. */
  isSenderAllowed(sender: string | undefined): Promise<boolean>;
}

/** Dependencies of the scan-message consumer, built once per host instance. */
export interface ArrivalDependencies {
  settings: Settings;
  client: MailboxClient;
  scanner: MessageScanner;
  store: QuarantineStore;
  locks: MessageLocks;
  verdictLog: VerdictLog;
  hiddenFolders: HiddenFolders;
  logger: Logger;
  /** Sends the notifications rules ask for; without one they are logged only. */
  notifier?: RuleNotifier;
  /** Finds the mailbox's groups named in rule scopes; without it, group-scoped rules never apply. */
  groupScope?: GroupScope;
  /** Released messages and allowed senders; without it, every verdict is carried out. */
  releases?: ReleaseMemory;
}

/** What became of one scan-message job. */
export type ScanMessageOutcome =
  /** Scanned, acted on and recorded. */
  | 'acted'
  /** Another job already acted on the message, or it is an item mailsweep itself moved. */
  | 'duplicate'
  /** Another invocation holds the message's claim; that invocation finishes it. */
  | 'in-progress'
  | 'draft'
  /** The item sits in mailsweep's hidden quarantine folder. */
  | 'in-quarantine-folder'
  /** The item no longer exists; recorded as gone. */
  | 'gone'
  /** A permanent failure, recorded in the verdict log. */
  | 'failed'
  /** Another invocation took the claim over mid-way; this one stopped without acting. */
  | 'lease-lost';
