import type { TokenCredential } from '@azure/identity';
import type { z } from 'zod';

import {
  toSmtpAddresses,
  type DirectoryUser,
  type UserAddressDirectory,
} from '../auth/user-addresses.js';
import { pickAttachment } from '../mailbox/attachment-match.js';
import type {
  AttachmentRemoving,
  AttachmentTarget,
  DeleteMode,
  FolderListing,
  FolderRef,
  FolderSyncResult,
  ListFoldersOptions,
  ImportedMessage,
  ListMessagesOptions,
  MailboxFolder,
  MailboxClient,
  MailboxMessageRef,
  MailboxName,
  MessageImporting,
  MessageTag,
  MimeDownload,
  StoreAttachment,
} from '../mailbox/mailbox-client.js';
import { ScannerError } from '../shared/errors.js';
import { silentLogger, type Logger } from '../shared/logger.js';
import {
  graphAttachmentSchema,
  graphDeltaItemSchema,
  graphFolderSchema,
  graphMessageSchema,
  graphPageSchema,
  graphSubscriptionSchema,
  graphUserAddressesSchema,
  graphUserIdSchema,
  graphUserSchema,
  MESSAGE_SELECT,
} from './graph-schemas.js';
import { toGraphImportBody } from './graph-import.js';
import { GraphTransport, type GraphCall } from './graph-transport.js';
import { OUTLOOK_MAILBOX_LIMITS, type MailboxGateOptions } from './mailbox-gate.js';
import { checkDownloadLength } from './mime-download.js';
import { DEFAULT_RETRY_OPTIONS, type RetryOptions } from './retry-policy.js';
import type {
  CreateSubscriptionRequest,
  DirectoryClient,
  GraphSubscription,
  MailSender,
  MimeMailSender,
  OutgoingMail,
  SubscriptionClient,
} from './subscription-client.js';

/** Graph v1.0 in the global cloud. */
export const DEFAULT_GRAPH_BASE_URL = 'https://graph.microsoft.com/v1.0';

/** Messages per page when listing; Graph allows up to 1,000 with $top. */
export const GRAPH_PAGE_SIZE = 100;

/**
 * Largest base64 body of a MIME sendMail, in bytes. Graph rejects requests over 4 MB, and one
 * report has MIME sends failing from about 2.2 MB of MIME (3 MB in base64), so the limit keeps
 * below that. A digest of 50 items is far smaller.
 * @see https://github.com/microsoftgraph/microsoft-graph-docs/issues/13979
 */
export const MAX_GRAPH_MIME_SEND_BYTES = 3 * 1000 * 1000;

/** A received-time lower bound older than any mail, for filters that need one. */
const OPEN_RECEIVED_BOUND = '1970-01-01T00:00:00Z';

/** Pages followed in one listing or sync before giving up, so a link loop cannot run forever. */
export const MAX_GRAPH_PAGES = 10_000;

/** Folder levels followed below the mailbox root, so that a folder cycle cannot recurse forever. */
const MAX_FOLDER_DEPTH = 64;

/** Options for GraphClient. */
export interface GraphClientOptions {
  credential: TokenCredential;
  /** Graph endpoint with its version; default DEFAULT_GRAPH_BASE_URL. */
  baseUrl?: string;
  /** Default silentLogger. */
  logger?: Logger;
  /** Per-mailbox limits; default OUTLOOK_MAILBOX_LIMITS. */
  limits?: Partial<MailboxGateOptions>;
  /** Retries; default DEFAULT_RETRY_OPTIONS. */
  retry?: Partial<RetryOptions>;
  /** Milliseconds a connection may stay silent, also mid-download; default 120,000. */
  idleTimeoutMs?: number;
  /** Extra trusted CA in PEM, for a private endpoint such as the test simulator. */
  ca?: string;
}

type GraphMessage = z.infer<typeof graphMessageSchema>;
type GraphPage = z.infer<typeof graphPageSchema>;

/**
 * Exchange Online over Microsoft Graph: mailbox access, subscriptions, group members and
 * sendMail. Requests to one mailbox keep to Outlook's per-app limits (4 at once, 10,000 per 10
 * minutes); 429, 503 and other transient failures are retried with Retry-After and backoff.
 * Every method throws ScannerError with the codes listed on MailboxClient.
 * @see https://learn.microsoft.com/graph/throttling-limits#outlook-service-limits
 */
export class GraphClient
  implements
    MailboxClient,
    AttachmentRemoving,
    MessageImporting,
    SubscriptionClient,
    DirectoryClient,
    MailSender,
    UserAddressDirectory,
    MimeMailSender
{
  private readonly transport: GraphTransport;
  private readonly logger: Logger;

  constructor(options: GraphClientOptions) {
    this.logger = options.logger ?? silentLogger;
    this.transport = new GraphTransport({
      credential: options.credential,
      baseUrl: (options.baseUrl ?? DEFAULT_GRAPH_BASE_URL).replace(/\/+$/, ''),
      gate: { ...OUTLOOK_MAILBOX_LIMITS, ...options.limits },
      retry: { ...DEFAULT_RETRY_OPTIONS, ...options.retry },
      idleTimeoutMs: options.idleTimeoutMs ?? 120_000,
      ca: options.ca,
      logger: this.logger,
    });
  }

  /** Lists messages newest first, following @odata.nextLink. */
  async *listMessages(
    mailbox: MailboxName,
    options: ListMessagesOptions = {},
  ): AsyncIterable<MailboxMessageRef> {
    const root = userPath(mailbox);
    const path =
      options.folder === undefined
        ? `${root}/messages`
        : `${root}/mailFolders/${folderSegment(options.folder)}/messages`;
    const filters: string[] = [];
    if (options.receivedAfter !== undefined) {
      filters.push(`receivedDateTime ge ${options.receivedAfter.toISOString()}`);
    }
    if (options.receivedBefore !== undefined) {
      filters.push(`receivedDateTime lt ${options.receivedBefore.toISOString()}`);
    }
    if (options.modifiedAfter !== undefined) {
      // Graph refuses a filter that does not compare the $orderby property first
      // (InefficientFilter), so a window on the modified time alone gets an open received bound.
      if (filters.length === 0) {
        filters.push(`receivedDateTime ge ${OPEN_RECEIVED_BOUND}`);
      }
      filters.push(`lastModifiedDateTime ge ${options.modifiedAfter.toISOString()}`);
    }
    const query: Record<string, string> = {
      $select: MESSAGE_SELECT,
      $orderby: 'receivedDateTime desc',
      $top: String(options.pageSize ?? GRAPH_PAGE_SIZE),
    };
    if (filters.length > 0) {
      query.$filter = filters.join(' and ');
    }
    let call: GraphCall = {
      method: 'GET',
      path,
      query,
      mailbox,
      scope: 'mailbox',
      operation: 'list-messages',
    };
    for (let pages = 0; pages < MAX_GRAPH_PAGES; pages += 1) {
      const page = parse(graphPageSchema, await this.transport.json(call), 'list-messages');
      for (const item of page.value) {
        yield toMessageRef(parse(graphMessageSchema, item, 'list-messages'));
      }
      const next = page['@odata.nextLink'];
      if (next === undefined) {
        return;
      }
      call = { method: 'GET', path: next, mailbox, scope: 'mailbox', operation: 'list-messages' };
    }
    throw tooManyPages('list-messages');
  }

  /**
   * Lists the mail folders under the root, every level (childFolders of each folder that has
   * any), without hidden folders. Recoverable Items is Graph's `recoverableitemsdeletions`
   * well-known folder. Graph cannot open the archive mailbox, so `archive` is reported as
   * unreachable when asked for.
   * @see https://learn.microsoft.com/graph/api/user-list-mailfolders
   */
  async listFolders(mailbox: MailboxName, options: ListFoldersOptions = {}): Promise<FolderListing> {
    const folders: MailboxFolder[] = [];
    const visit = async (path: string, parentPath: string, depth: number): Promise<void> => {
      for (const folder of await this.readFolderPages(mailbox, path)) {
        const folderPath = parentPath === '' ? folder.displayName : `${parentPath}/${folder.displayName}`;
        folders.push({ id: folder.id, displayName: folder.displayName, path: folderPath, kind: 'mail' });
        if ((folder.childFolderCount ?? 0) > 0 && depth < MAX_FOLDER_DEPTH) {
          const children = `${userPath(mailbox)}/mailFolders/${encodeURIComponent(folder.id)}/childFolders?$top=100`;
          await visit(children, folderPath, depth + 1);
        }
      }
    };
    await visit(`${userPath(mailbox)}/mailFolders?$top=100`, '', 0);

    if (options.includeRecoverableItems === true) {
      const body = await this.transport.json({
        method: 'GET',
        path: `${userPath(mailbox)}/mailFolders/recoverableitemsdeletions`,
        mailbox,
        scope: 'mailbox',
        operation: 'list-folders',
      });
      const folder = parse(graphFolderSchema, body, 'list-folders');
      folders.push({
        id: folder.id,
        displayName: folder.displayName,
        path: `Recoverable Items/${folder.displayName}`,
        kind: 'recoverable-items',
        wellKnownName: 'recoverableitemsdeletions',
      });
    }
    return { folders, unreachable: options.includeArchive === true ? ['archive'] : [] };
  }

  private async readFolderPages(mailbox: MailboxName, first: string) {
    const found: Array<z.infer<typeof graphFolderSchema>> = [];
    let next: string | undefined = first;
    for (let pages = 0; next !== undefined; pages += 1) {
      if (pages >= MAX_GRAPH_PAGES) {
        throw tooManyPages('list-folders');
      }
      const page: GraphPage = parse(
        graphPageSchema,
        await this.transport.json({ method: 'GET', path: next, mailbox, scope: 'mailbox', operation: 'list-folders' }),
        'list-folders',
      );
      for (const raw of page.value) {
        const folder = parse(graphFolderSchema, raw, 'list-folders');
        if (folder.isHidden !== true) {
          found.push(folder);
        }
      }
      next = page['@odata.nextLink'];
    }
    return found;
  }

  /**
   * Runs one delta round on a folder: follows @odata.nextLink to the @odata.deltaLink, which is
   * the state for the next round. A state Graph no longer accepts (410 Gone) starts a full sync.
   * @see https://learn.microsoft.com/graph/delta-query-messages
   */
  async syncFolder(
    mailbox: MailboxName,
    folder: FolderRef,
    state?: string,
  ): Promise<FolderSyncResult> {
    if (state !== undefined) {
      const result = await this.runDelta(mailbox, state);
      if (result !== undefined) {
        return result;
      }
      this.logger.info('Graph delta state expired; running a full sync', {
        operation: 'sync-folder',
      });
    }
    const start = `${userPath(mailbox)}/mailFolders/${folderSegment(folder)}/messages/delta?$select=${MESSAGE_SELECT}`;
    const full = await this.runDelta(mailbox, start);
    if (full === undefined) {
      throw new ScannerError(
        'mailbox-unavailable',
        'Graph returned 410 Gone for a new delta query',
        {
          fields: { operation: 'sync-folder' },
        },
      );
    }
    return state === undefined ? full : { ...full, resynced: true };
  }

  /** Reads one message's properties. */
  async getMessage(mailbox: MailboxName, id: string): Promise<MailboxMessageRef> {
    const body = await this.transport.json({
      method: 'GET',
      path: `${userPath(mailbox)}/messages/${encodeURIComponent(id)}`,
      query: { $select: MESSAGE_SELECT },
      mailbox,
      scope: 'item',
      operation: 'get-message',
    });
    return toMessageRef(parse(graphMessageSchema, body, 'get-message'));
  }

  /**
   * Streams the MIME from `$value`. The mailbox slot stays taken until the stream ends, because
   * Outlook counts an unfinished download as a concurrent request. A download shorter than its
   * Content-Length fails the stream with `mailbox-unavailable`.
   */
  async getMime(mailbox: MailboxName, id: string): Promise<MimeDownload> {
    const response = await this.transport.send({
      method: 'GET',
      path: `${userPath(mailbox)}/messages/${encodeURIComponent(id)}/$value`,
      mailbox,
      scope: 'item',
      operation: 'get-mime',
    });
    // NOTE: Graph has no property for the MIME size. Without Content-Length (a chunked response),
    // only a broken connection reveals a cut-short download, and a clean early end goes unseen
    // here; the MIME parser's check for the final boundary is then the remaining guard.
    const length = response.headers.get('content-length');
    const declaredBytes = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
    if (response.body === null) {
      response.release();
      throw new ScannerError('mailbox-request-failed', 'Graph returned no MIME body', {
        fields: { operation: 'get-mime' },
      });
    }
    return {
      stream: checkDownloadLength(response.body, declaredBytes, response.release),
      declaredBytes,
    };
  }

  /** Moves a message; Exchange gives it a new id, which this returns. */
  async moveMessage(mailbox: MailboxName, id: string, destination: FolderRef): Promise<string> {
    const body = await this.transport.json({
      method: 'POST',
      path: `${userPath(mailbox)}/messages/${encodeURIComponent(id)}/move`,
      body: {
        destinationId: 'wellKnown' in destination ? destination.wellKnown : destination.folderId,
      },
      mailbox,
      scope: 'item',
      operation: 'move-message',
    });
    return parse(graphMessageSchema, body, 'move-message').id;
  }

  /**
   * Imports a message for release with Graph's JSON create, which can set PR_MESSAGE_FLAGS so
   * that the message is received mail and not a draft, at the cost of the original MIME
   * (src/graph/graph-import.ts lists what is lost).
   * @throws ScannerError `mailbox-request-failed` for a message too large for one request.
   */
  async importMessage(
    mailbox: MailboxName,
    folder: FolderRef,
    mime: Buffer,
    receivedAt?: Date,
  ): Promise<ImportedMessage> {
    const body = await this.transport.json({
      method: 'POST',
      path: `${userPath(mailbox)}/mailFolders/${folderSegment(folder)}/messages`,
      body: await toGraphImportBody(mime, receivedAt),
      mailbox,
      scope: 'item',
      operation: 'import-message',
    });
    return { id: parse(graphMessageSchema, body, 'import-message').id, preservesMime: false };
  }

  /**
   * Deletes a message: `deleted-items` moves it there, `soft` is Graph's DELETE (to Recoverable
   * Items), `hard` is permanentDelete (purged, subject to retention holds).
   */
  async deleteMessage(mailbox: MailboxName, id: string, mode: DeleteMode): Promise<void> {
    if (mode === 'deleted-items') {
      await this.moveMessage(mailbox, id, { wellKnown: 'deleteditems' });
      return;
    }
    const item = `${userPath(mailbox)}/messages/${encodeURIComponent(id)}`;
    await this.transport.run(
      mode === 'soft'
        ? { method: 'DELETE', path: item, mailbox, scope: 'item', operation: 'delete-message' }
        : {
            method: 'POST',
            path: `${item}/permanentDelete`,
            mailbox,
            scope: 'item',
            operation: 'delete-message',
          },
    );
  }

  /**
   * Adds categories to those the message has, and flags it when asked. A received message's
   * subject cannot be changed over Graph (only a draft's), so a tag is a category.
   */
  async tagMessage(mailbox: MailboxName, id: string, tag: MessageTag): Promise<void> {
    const current = await this.transport.json({
      method: 'GET',
      path: `${userPath(mailbox)}/messages/${encodeURIComponent(id)}`,
      query: { $select: 'id,categories' },
      mailbox,
      scope: 'item',
      operation: 'tag-message',
    });
    const existing = parse(graphMessageSchema, current, 'tag-message').categories ?? [];
    const patch: Record<string, unknown> = {
      categories: [...new Set([...existing, ...tag.categories])],
    };
    if (tag.flag === true) {
      patch.flag = { flagStatus: 'flagged' };
    }
    await this.transport.run({
      method: 'PATCH',
      path: `${userPath(mailbox)}/messages/${encodeURIComponent(id)}`,
      body: patch,
      mailbox,
      scope: 'item',
      operation: 'tag-message',
    });
  }

  /**
   * Lists the message's attachments and deletes the one that matches `target`. Graph allows this
   * on received messages, but not a change of their body or subject, so the caller marks the
   * message with a category.
   * @see https://learn.microsoft.com/graph/api/attachment-delete
   */
  async removeAttachment(
    mailbox: MailboxName,
    id: string,
    target: AttachmentTarget,
  ): Promise<'removed' | 'not-found'> {
    const item = `${userPath(mailbox)}/messages/${encodeURIComponent(id)}`;
    const listed = await this.listAttachments(mailbox, item);
    const match = pickAttachment(listed, target);
    if (match === undefined) {
      return 'not-found';
    }
    await this.transport.run({
      method: 'DELETE',
      path: `${item}/attachments/${encodeURIComponent(match.id)}`,
      mailbox,
      scope: 'item',
      operation: 'remove-attachment',
    });
    return 'removed';
  }

  /**
   * Returns the id of a folder under the mailbox root with this display name, creating it hidden
   * when missing. isHidden can be set only when a folder is created, so an existing visible
   * folder of that name is used as it is, with a warning.
   */
  async ensureHiddenFolder(mailbox: MailboxName, displayName: string): Promise<string> {
    const found = await this.findRootFolder(mailbox, displayName);
    if (found !== undefined) {
      return found;
    }
    try {
      const body = await this.transport.json({
        method: 'POST',
        path: `${userPath(mailbox)}/mailFolders`,
        body: { displayName, isHidden: true },
        mailbox,
        scope: 'mailbox',
        operation: 'create-folder',
      });
      return parse(graphFolderSchema, body, 'create-folder').id;
    } catch (error) {
      // Another instance created it between the lookup and the POST (409 ErrorFolderExists).
      const again = await this.findRootFolder(mailbox, displayName);
      if (again !== undefined) {
        return again;
      }
      throw error;
    }
  }

  /** Creates a subscription to the mailbox's new messages. Graph validates the URLs first. */
  async createSubscription(request: CreateSubscriptionRequest): Promise<GraphSubscription> {
    const body = await this.transport.json({
      method: 'POST',
      path: '/subscriptions',
      body: {
        changeType: 'created',
        resource: `users/${userSegment(request.mailbox)}/messages`,
        notificationUrl: request.notificationUrl,
        lifecycleNotificationUrl: request.lifecycleNotificationUrl,
        clientState: request.clientState,
        expirationDateTime: request.expiration.toISOString(),
      },
      scope: 'mailbox',
      operation: 'create-subscription',
    });
    return toSubscription(parse(graphSubscriptionSchema, body, 'create-subscription'));
  }

  /** PATCHes the expiry; Graph validates the notification URL again. */
  async renewSubscription(id: string, expiration: Date): Promise<GraphSubscription> {
    const body = await this.transport.json({
      method: 'PATCH',
      path: `/subscriptions/${encodeURIComponent(id)}`,
      body: { expirationDateTime: expiration.toISOString() },
      scope: 'item',
      operation: 'renew-subscription',
    });
    return toSubscription(parse(graphSubscriptionSchema, body, 'renew-subscription'));
  }

  /** Reauthorizes a subscription after a `reauthorizationRequired` lifecycle notification. */
  async reauthorizeSubscription(id: string): Promise<void> {
    await this.transport.run({
      method: 'POST',
      path: `/subscriptions/${encodeURIComponent(id)}/reauthorize`,
      scope: 'item',
      operation: 'reauthorize-subscription',
    });
  }

  /** Deletes a subscription; one that is already gone throws `mailbox-not-found`. */
  async deleteSubscription(id: string): Promise<void> {
    await this.transport.run({
      method: 'DELETE',
      path: `/subscriptions/${encodeURIComponent(id)}`,
      scope: 'item',
      operation: 'delete-subscription',
    });
  }

  /** Lists this application's live subscriptions. */
  async listSubscriptions(): Promise<GraphSubscription[]> {
    const items = await this.collect('/subscriptions', 'list-subscriptions');
    return items.map((item) =>
      toSubscription(parse(graphSubscriptionSchema, item, 'list-subscriptions')),
    );
  }

  /**
   * Returns the Entra object id of the user behind a mailbox address, as Graph names the user in
   * a notification's resource.
   * @throws ScannerError `mailbox-request-failed` when no such user exists, or as other calls do.
   */
  async resolveUserId(mailbox: MailboxName): Promise<string> {
    const body = await this.transport.json({
      method: 'GET',
      path: userPath(mailbox),
      query: { $select: 'id' },
      scope: 'tenant',
      operation: 'resolve-user-id',
    });
    return parse(graphUserIdSchema, body, 'resolve-user-id').id;
  }

  /**
   * Returns a user's SMTP addresses (primary first) and UPN, read by object id with
   * `GET /users/{id}?$select=mail,userPrincipalName,proxyAddresses`. Needs User.Read.All.
   * @throws ScannerError `mailbox-request-failed` when no such user exists, or as other calls do.
   * @see https://learn.microsoft.com/graph/api/user-get
   */
  async addressesOf(objectId: string): Promise<DirectoryUser> {
    const body = await this.transport.json({
      method: 'GET',
      path: `/users/${encodeURIComponent(objectId)}`,
      query: { $select: 'mail,userPrincipalName,proxyAddresses' },
      scope: 'tenant',
      operation: 'read-user-addresses',
    });
    const user = parse(graphUserAddressesSchema, body, 'read-user-addresses');
    const userPrincipalName = user.userPrincipalName?.trim().toLowerCase();
    return {
      addresses: toSmtpAddresses(user.mail, user.proxyAddresses),
      userPrincipalName: userPrincipalName === '' ? undefined : userPrincipalName,
    };
  }

  /** Lists the mail addresses of the group's user members, nested groups included. */
  async listGroupMailboxes(groupId: string): Promise<MailboxName[]> {
    const path = `/groups/${encodeURIComponent(groupId)}/transitiveMembers/microsoft.graph.user?$select=id,mail&$top=999`;
    const addresses = new Set<string>();
    for (const item of await this.collect(path, 'list-group-mailboxes')) {
      const mail = parse(graphUserSchema, item, 'list-group-mailboxes').mail;
      if (typeof mail === 'string' && mail.length > 0) {
        addresses.add(mail.toLowerCase());
      }
    }
    return [...addresses];
  }

  /** Sends an HTML mail from a mailbox, without a copy in its Sent Items. */
  async sendMail(fromMailbox: MailboxName, mail: OutgoingMail): Promise<void> {
    await this.transport.run({
      method: 'POST',
      path: `${userPath(fromMailbox)}/sendMail`,
      body: {
        message: {
          subject: mail.subject,
          body: { contentType: 'HTML', content: mail.html },
          toRecipients: mail.to.map((address) => ({ emailAddress: { address } })),
        },
        saveToSentItems: false,
      },
      mailbox: fromMailbox,
      scope: 'mailbox',
      operation: 'send-mail',
    });
  }

  /**
   * Sends an RFC 5322 message from a mailbox through sendMail in MIME format: the body is the
   * base64 MIME, sent as `text/plain`, and Graph responds 202 Accepted. Graph takes the recipients
   * from the To, Cc and Bcc headers. Unlike the JSON form, this form has no saveToSentItems, so
   * Exchange keeps a copy in the mailbox's Sent Items.
   * @see https://learn.microsoft.com/graph/api/user-sendmail
   * @see https://learn.microsoft.com/graph/outlook-send-mime-message
   * @throws ScannerError `mailbox-request-failed` when the base64 body would exceed
   * MAX_GRAPH_MIME_SEND_BYTES, or Graph rejects the MIME (400), or as other calls do.
   */
  async sendMimeMail(fromMailbox: MailboxName, mime: Buffer): Promise<void> {
    const body = mime.toString('base64');
    if (body.length > MAX_GRAPH_MIME_SEND_BYTES) {
      const fields = {
        operation: 'send-mime-mail',
        bytes: body.length,
        limitBytes: MAX_GRAPH_MIME_SEND_BYTES,
      };
      throw new ScannerError('mailbox-request-failed', 'MIME message exceeds the sendMail limit', {
        fields,
      });
    }
    await this.transport.run({
      method: 'POST',
      path: `${userPath(fromMailbox)}/sendMail`,
      headers: { 'Content-Type': 'text/plain' },
      body,
      mailbox: fromMailbox,
      scope: 'mailbox',
      operation: 'send-mime-mail',
    });
  }

  /** Closes idle connections; the client must not be used afterwards. */
  close(): void {
    this.transport.close();
  }

  /** Runs a delta round from a link; undefined when Graph returned 410 Gone. */
  private async runDelta(
    mailbox: MailboxName,
    link: string,
  ): Promise<FolderSyncResult | undefined> {
    const changed: MailboxMessageRef[] = [];
    const removedIds: string[] = [];
    let path = link;
    for (let pages = 0; pages < MAX_GRAPH_PAGES; pages += 1) {
      const response = await this.transport.send(
        {
          method: 'GET',
          path,
          headers: { Prefer: `odata.maxpagesize=${GRAPH_PAGE_SIZE}` },
          mailbox,
          scope: 'mailbox',
          operation: 'sync-folder',
        },
        true,
      );
      if (response.status === 410) {
        response.body?.resume();
        response.release();
        return undefined;
      }
      const page = parse(
        graphPageSchema,
        await this.transport.readJson(response, 'sync-folder'),
        'sync-folder',
      );
      for (const raw of page.value) {
        const item = parse(graphDeltaItemSchema, raw, 'sync-folder');
        if (item['@removed'] !== undefined) {
          removedIds.push(item.id);
        } else {
          changed.push(toMessageRef(item));
        }
      }
      const deltaLink = page['@odata.deltaLink'];
      if (deltaLink !== undefined) {
        return { changed, removedIds, state: deltaLink };
      }
      const next = page['@odata.nextLink'];
      if (next === undefined) {
        throw new ScannerError('mailbox-request-failed', 'Graph delta page has neither link', {
          fields: { operation: 'sync-folder' },
        });
      }
      path = next;
    }
    throw tooManyPages('sync-folder');
  }

  /** Lists a message's attachments in Graph's order, without their content. */
  private async listAttachments(mailbox: MailboxName, item: string): Promise<StoreAttachment[]> {
    const attachments: StoreAttachment[] = [];
    let call: GraphCall = {
      method: 'GET',
      path: `${item}/attachments`,
      query: { $select: 'id,name,contentType' },
      mailbox,
      scope: 'item',
      operation: 'list-attachments',
    };
    for (let pages = 0; pages < MAX_GRAPH_PAGES; pages += 1) {
      const page = parse(graphPageSchema, await this.transport.json(call), 'list-attachments');
      for (const raw of page.value) {
        const attachment = parse(graphAttachmentSchema, raw, 'list-attachments');
        attachments.push({
          id: attachment.id,
          name: attachment.name ?? '',
          contentType: attachment.contentType ?? undefined,
        });
      }
      const next = page['@odata.nextLink'];
      if (next === undefined) {
        return attachments;
      }
      call = { method: 'GET', path: next, mailbox, scope: 'item', operation: 'list-attachments' };
    }
    throw tooManyPages('list-attachments');
  }

  /** Follows @odata.nextLink and returns every item; for tenant-wide listings. */
  private async collect(path: string, operation: string): Promise<unknown[]> {
    const items: unknown[] = [];
    let next: string | undefined = path;
    for (let pages = 0; next !== undefined; pages += 1) {
      if (pages >= MAX_GRAPH_PAGES) {
        throw tooManyPages(operation);
      }
      const page: GraphPage = parse(
        graphPageSchema,
        await this.transport.json({ method: 'GET', path: next, scope: 'tenant', operation }),
        operation,
      );
      items.push(...page.value);
      next = page['@odata.nextLink'];
    }
    return items;
  }

  private async findRootFolder(
    mailbox: MailboxName,
    displayName: string,
  ): Promise<string | undefined> {
    // Hidden folders are listed only with includeHiddenFolders=true.
    let next: string | undefined =
      `${userPath(mailbox)}/mailFolders?includeHiddenFolders=true&$top=100`;
    const wanted = displayName.toLowerCase();
    for (let pages = 0; next !== undefined && pages < MAX_GRAPH_PAGES; pages += 1) {
      const page: GraphPage = parse(
        graphPageSchema,
        await this.transport.json({
          method: 'GET',
          path: next,
          mailbox,
          scope: 'mailbox',
          operation: 'find-folder',
        }),
        'find-folder',
      );
      for (const raw of page.value) {
        const folder = parse(graphFolderSchema, raw, 'find-folder');
        if (folder.displayName.toLowerCase() === wanted) {
          if (folder.isHidden !== true) {
            this.logger.warn('Quarantine folder exists but is not hidden', {
              operation: 'find-folder',
            });
          }
          return folder.id;
        }
      }
      next = page['@odata.nextLink'];
    }
    return undefined;
  }
}

function userPath(mailbox: MailboxName): string {
  return `/users/${userSegment(mailbox)}`;
}

/** Encodes a user id or address for a path, keeping `@` as in `/users/{userPrincipalName}`. */
function userSegment(mailbox: MailboxName): string {
  return encodeURIComponent(mailbox).replace(/%40/g, '@');
}

function folderSegment(folder: FolderRef): string {
  return 'wellKnown' in folder ? folder.wellKnown : encodeURIComponent(folder.folderId);
}

function toMessageRef(message: GraphMessage): MailboxMessageRef {
  const ref: MailboxMessageRef = { id: message.id };
  if (typeof message.internetMessageId === 'string') {
    ref.internetMessageId = message.internetMessageId;
  }
  if (typeof message.parentFolderId === 'string') {
    ref.folderId = message.parentFolderId;
  }
  if (typeof message.receivedDateTime === 'string') {
    ref.receivedAt = message.receivedDateTime;
  }
  if (typeof message.isDraft === 'boolean') {
    ref.isDraft = message.isDraft;
  }
  return ref;
}

function toSubscription(subscription: z.infer<typeof graphSubscriptionSchema>): GraphSubscription {
  const result: GraphSubscription = {
    id: subscription.id,
    resource: subscription.resource,
    changeType: subscription.changeType,
    notificationUrl: subscription.notificationUrl,
    expirationDateTime: subscription.expirationDateTime,
  };
  if (typeof subscription.lifecycleNotificationUrl === 'string') {
    result.lifecycleNotificationUrl = subscription.lifecycleNotificationUrl;
  }
  return result;
}

/** Validates Graph JSON; a mismatch is a permanent failure naming the paths, never the values. */
function parse<T>(schema: z.ZodType<T>, value: unknown, operation: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const paths = result.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new ScannerError(
      'mailbox-request-failed',
      `Graph response has an unexpected shape at ${paths}`,
      {
        fields: { operation },
      },
    );
  }
  return result.data;
}

function tooManyPages(operation: string): ScannerError {
  return new ScannerError(
    'mailbox-request-failed',
    `Graph listing exceeded ${MAX_GRAPH_PAGES} pages`,
    {
      fields: { operation },
    },
  );
}
