import { ScannerError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import {
  canImportMessage,
  canPrefixSubject,
  canRemoveAttachments,
  type AttachmentRemoving,
  type AttachmentTarget,
  type DeleteMode,
  type FolderListing,
  type FolderRef,
  type FolderSyncResult,
  type ListFoldersOptions,
  type ImportedMessage,
  type ListMessagesOptions,
  type MailboxClient,
  type MailboxMessageRef,
  type MailboxName,
  type MessageImporting,
  type MessageTag,
  type MimeDownload,
  type SubjectPrefixing,
} from './mailbox-client.js';

/** Destination of a mailbox's requests. */
export type MailboxRoute = 'graph' | 'ews';

/** Options for MailboxRouter. */
export interface MailboxRouterOptions {
  /** Exchange Online. */
  graph: MailboxClient;
  /** Exchange Server; without it, on-premises mailboxes fail with `mailbox-on-premises`. */
  ews?: MailboxClient;
  /** Addresses hosted on premises (compared lower-cased). */
  onPremMailboxes?: readonly string[];
  /** Domains whose mailboxes are all on premises (compared lower-cased). */
  onPremDomains?: readonly string[];
  /** How long a mailbox Graph reported as on premises stays routed to EWS, in ms; default 1 day. */
  cacheTtlMs?: number;
  /** Clock, for tests; default Date.now. */
  now?: () => number;
  /** Default silentLogger. */
  logger?: Logger;
}

/**
 * A MailboxClient that sends each call to Graph or to EWS. Mailboxes named on premises in
 * settings (by address or domain) go to EWS. Any other mailbox goes to Graph first. When Graph
 * reports it as `mailbox-on-premises`, the call is repeated on EWS and the mailbox is remembered
 * for `cacheTtlMs`. After that Graph is tried again, so that a migrated mailbox is noticed.
 */
export class MailboxRouter
  implements MailboxClient, SubjectPrefixing, AttachmentRemoving, MessageImporting
{
  private readonly graph: MailboxClient;
  private readonly ews: MailboxClient | undefined;
  private readonly onPremMailboxes: ReadonlySet<string>;
  private readonly onPremDomains: ReadonlySet<string>;
  private readonly cacheTtlMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;
  /** Mailboxes Graph reported as on premises, with the time the entry expires. */
  private readonly discovered = new Map<string, number>();

  constructor(options: MailboxRouterOptions) {
    this.graph = options.graph;
    this.ews = options.ews;
    this.onPremMailboxes = new Set(
      (options.onPremMailboxes ?? []).map((item) => item.toLowerCase()),
    );
    this.onPremDomains = new Set((options.onPremDomains ?? []).map((item) => item.toLowerCase()));
    this.cacheTtlMs = options.cacheTtlMs ?? 24 * 60 * 60 * 1000;
    this.now = options.now ?? Date.now;
    this.logger = options.logger ?? silentLogger;
  }

  /** Returns where the mailbox's next call goes, from settings and what Graph reported. */
  routeOf(mailbox: MailboxName): MailboxRoute {
    const key = mailbox.toLowerCase();
    if (this.onPremMailboxes.has(key)) {
      return 'ews';
    }
    const at = key.lastIndexOf('@');
    if (at >= 0 && this.onPremDomains.has(key.slice(at + 1))) {
      return 'ews';
    }
    const expires = this.discovered.get(key);
    if (expires !== undefined) {
      if (expires > this.now()) {
        return 'ews';
      }
      this.discovered.delete(key);
    }
    return 'graph';
  }

  /** Lists messages; a mailbox Graph reports on premises before the first item moves to EWS. */
  async *listMessages(
    mailbox: MailboxName,
    options?: ListMessagesOptions,
  ): AsyncIterable<MailboxMessageRef> {
    if (this.routeOf(mailbox) === 'ews') {
      yield* this.requireEws(mailbox).listMessages(mailbox, options);
      return;
    }
    let yielded = false;
    try {
      for await (const item of this.graph.listMessages(mailbox, options)) {
        yielded = true;
        yield item;
      }
      return;
    } catch (error) {
      if (yielded || !this.isOnPremises(error)) {
        throw error;
      }
      this.remember(mailbox, 'list-messages');
    }
    yield* this.requireEws(mailbox).listMessages(mailbox, options);
  }

  listFolders(mailbox: MailboxName, options?: ListFoldersOptions): Promise<FolderListing> {
    return this.run(mailbox, 'list-folders', (client) => client.listFolders(mailbox, options));
  }

  syncFolder(mailbox: MailboxName, folder: FolderRef, state?: string): Promise<FolderSyncResult> {
    return this.run(mailbox, 'sync-folder', (client) => client.syncFolder(mailbox, folder, state));
  }

  getMessage(mailbox: MailboxName, id: string): Promise<MailboxMessageRef> {
    return this.run(mailbox, 'get-message', (client) => client.getMessage(mailbox, id));
  }

  getMime(mailbox: MailboxName, id: string): Promise<MimeDownload> {
    return this.run(mailbox, 'get-mime', (client) => client.getMime(mailbox, id));
  }

  moveMessage(mailbox: MailboxName, id: string, destination: FolderRef): Promise<string> {
    return this.run(mailbox, 'move-message', (client) =>
      client.moveMessage(mailbox, id, destination),
    );
  }

  deleteMessage(mailbox: MailboxName, id: string, mode: DeleteMode): Promise<void> {
    return this.run(mailbox, 'delete-message', (client) => client.deleteMessage(mailbox, id, mode));
  }

  tagMessage(mailbox: MailboxName, id: string, tag: MessageTag): Promise<void> {
    return this.run(mailbox, 'tag-message', (client) => client.tagMessage(mailbox, id, tag));
  }

  ensureHiddenFolder(mailbox: MailboxName, displayName: string): Promise<string> {
    return this.run(mailbox, 'ensure-hidden-folder', (client) =>
      client.ensureHiddenFolder(mailbox, displayName),
    );
  }

  /**
   * Prefixes the subject where the mailbox's store can.
   * @throws ScannerError `mailbox-request-failed` for a Graph mailbox, whose received subjects
   *   cannot be changed.
   */
  prefixSubject(mailbox: MailboxName, id: string, prefix: string): Promise<void> {
    return this.run(mailbox, 'prefix-subject', (client) => {
      if (!canPrefixSubject(client)) {
        throw new ScannerError(
          'mailbox-request-failed',
          'This mailbox store cannot change a received subject; tag with a category instead',
          { fields: { operation: 'prefix-subject' } },
        );
      }
      return client.prefixSubject(mailbox, id, prefix);
    });
  }

  /**
   * Removes an attachment where the mailbox's store can.
   * @throws ScannerError `mailbox-request-failed` when the store's client cannot remove one.
   */
  removeAttachment(
    mailbox: MailboxName,
    id: string,
    target: AttachmentTarget,
  ): Promise<'removed' | 'not-found'> {
    return this.run(mailbox, 'remove-attachment', (client) => {
      if (!canRemoveAttachments(client)) {
        throw new ScannerError(
          'mailbox-request-failed',
          'This mailbox store client cannot remove an attachment',
          { fields: { operation: 'remove-attachment' } },
        );
      }
      return client.removeAttachment(mailbox, id, target);
    });
  }

  /**
   * Imports a message through the store that contains the mailbox.
   * @throws ScannerError `mailbox-request-failed` when that store cannot import MIME.
   */
  importMessage(
    mailbox: MailboxName,
    folder: FolderRef,
    mime: Buffer,
    receivedAt?: Date,
  ): Promise<ImportedMessage> {
    return this.run(mailbox, 'import-message', (client) => {
      if (!canImportMessage(client)) {
        throw new ScannerError(
          'mailbox-request-failed',
          'This mailbox store cannot create a message from MIME',
          { fields: { operation: 'import-message' } },
        );
      }
      return client.importMessage(mailbox, folder, mime, receivedAt);
    });
  }

  private async run<T>(
    mailbox: MailboxName,
    operation: string,
    call: (client: MailboxClient) => Promise<T>,
  ): Promise<T> {
    if (this.routeOf(mailbox) === 'ews') {
      return call(this.requireEws(mailbox));
    }
    try {
      return await call(this.graph);
    } catch (error) {
      if (!this.isOnPremises(error)) {
        throw error;
      }
      this.remember(mailbox, operation);
    }
    return call(this.requireEws(mailbox));
  }

  private isOnPremises(error: unknown): boolean {
    return (
      error instanceof ScannerError &&
      error.code === 'mailbox-on-premises' &&
      this.ews !== undefined
    );
  }

  private remember(mailbox: MailboxName, operation: string): void {
    this.discovered.set(mailbox.toLowerCase(), this.now() + this.cacheTtlMs);
    this.logger.info('Graph reported the mailbox as on premises; routing it to EWS', { operation });
  }

  private requireEws(mailbox: MailboxName): MailboxClient {
    if (this.ews === undefined) {
      throw new ScannerError(
        'mailbox-on-premises',
        'Mailbox is on premises but EWS is not configured; set MAILSWEEP_EWS_URL',
        {
          fields: {
            route: 'ews',
            mailboxListed: this.onPremMailboxes.has(mailbox.toLowerCase()) ? 1 : 0,
          },
        },
      );
    }
    return this.ews;
  }
}
