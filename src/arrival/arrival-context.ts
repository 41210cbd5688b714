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
