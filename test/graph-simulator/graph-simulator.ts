import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';

import {
  createRandom,
  defaultFaults,
  defaultNotificationHooks,
  type NotificationHooks,
  type ScriptedFault,
  type SimulatorFaults,
} from './faults.js';
import { readBody, readJson, sendEmpty, sendGraphError, sendJson } from './http-tools.js';
import {
  handleMailboxRequest,
  type MailRouteContext,
  type MimeTruncation,
  type SentMail,
} from './mail-routes.js';
import {
  MailboxStore,
  type MailboxKind,
  type SimFolder,
  type SimMailbox,
  type SimMessage,
} from './mailbox-store.js';
import { createLocalCertificate } from './tls.js';
import {
  SubscriptionHub,
  SubscriptionRejection,
  VALIDATION_TIMEOUT_MS,
  type DeliveryRecord,
  type SimSubscription,
} from './subscriptions.js';

export type { DeliveryRecord, MailboxKind, MimeTruncation, NotificationHooks, ScriptedFault };
export type { SentMail, SimMailbox, SimMessage, SimSubscription, SimulatorFaults };

/** Options for startGraphSimulator. */
export interface GraphSimulatorOptions {
  /** Tenant id in tokens and notifications; default a random UUID. */
  tenantId?: string;
  /** Client id the token endpoint accepts; default a random UUID. */
  clientId?: string;
  /** Client secret the token endpoint accepts; default random. */
  clientSecret?: string;
  /** Seed of the generator behind random faults and hooks; default 1. */
  seed?: number;
  /** Initial faults; see SimulatorFaults for defaults. */
  faults?: Partial<SimulatorFaults>;
  /** Initial notification hooks; see NotificationHooks for defaults. */
  notificationHooks?: Partial<NotificationHooks>;
  /** Lifetime of issued access tokens in seconds; default 3,600. */
  tokenLifetimeSeconds?: number;
}

/** One request the simulator answered. */
export interface RequestLogEntry {
  method: string;
  /** Path after `/v1.0`, without the query. */
  path: string;
  mailboxId?: string;
  status: number;
  /** Date.now() when the request arrived. */
  receivedAt: number;
}

/** Per-mailbox counters. */
export interface MailboxStats {
  /** Requests that reached the mailbox, admitted or not. */
  requests: number;
  /** Most requests in flight at once, counting those rejected for concurrency. */
  peakConcurrency: number;
  /** Requests answered 429, for any reason. */
  throttled: number;
}

/** A running simulator and its programmatic API. */
export interface GraphSimulator {
  /** Graph base URL, e.g. `https://127.0.0.1:PORT/v1.0`. */
  baseUrl: string;
  /** Authority host for @azure/identity, e.g. `https://127.0.0.1:PORT`. */
  authorityHost: string;
  /** Token endpoint for the tenant. */
  tokenUrl: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** PEM certificate the server presents; pass it as a trusted CA. */
  certificate: string;
  /** Live faults; change fields at any time. */
  faults: SimulatorFaults;
  /** Live notification hooks; change fields at any time. */
  notificationHooks: NotificationHooks;
  /** Every answered request, in order of completion. */
  requestLog: RequestLogEntry[];
  /** Every POST made to subscribers (validation, change, lifecycle). */
  deliveries: DeliveryRecord[];
  /** Change notifications that the dropRate hook never sent. */
  droppedNotifications: Array<{ subscriptionId: string; messageId: string }>;
  /** Mails sent through sendMail. */
  sentMail: SentMail[];
  /** Ids removed by DELETE (soft delete) and by permanentDelete. */
  softDeleted: string[];
  permanentlyDeleted: string[];
  /** Adds a user with a mailbox; returns it (id, mail, folders, messages). */
  addMailbox(mail: string, kind?: MailboxKind): SimMailbox;
  /** Adds a user with no mailbox (mail is null), for group membership. */
  addUserWithoutMailbox(): string;
  /**
   * Replaces a user's proxy addresses, as an administrator adding or removing an alias does;
   * entries are kept as given (`SMTP:` primary, `smtp:` alias, other types).
   */
  setProxyAddresses(idOrMail: string, proxyAddresses: string[]): void;
  /** Adds a group whose members are user or group ids; returns the group id. */
  addGroup(members: string[]): string;
  /** Puts a message in a folder (default inbox) and sends `created` notifications. */
  deliverMessage(mailbox: string, input: DeliverMessageInput): SimMessage;
  /** Creates a folder under the root, or under a parent folder (id or well-known name). */
  createFolder(mailbox: string, displayName: string, parent?: string): SimFolder;
  /** Finds a mailbox by id or address. */
  mailbox(idOrMail: string): SimMailbox;
  /** Returns a message by id, or undefined when it is gone. */
  message(mailbox: string, id: string): SimMessage | undefined;
  /** Makes every delta link issued so far for the mailbox answer 410 Gone. */
  expireDeltaLinks(mailbox: string): void;
  /**
   * Moves messages in one action, as a user or a transport rule does. Above 25 messages Outlook
   * sends no change notifications, only a `missed` lifecycle notification. Returns the new ids.
   */
  moveInBulk(mailbox: string, messageIds: string[], folder: string): string[];
  /** Cuts the next `$value` downloads of a message short. */
  truncateMime(messageId: string, truncation: MimeTruncation): void;
  /** Queues a scripted failure. */
  addFault(fault: ScriptedFault): void;
  /** Live subscriptions. */
  subscriptions(): SimSubscription[];
  /** Sets a subscription's expiry, e.g. into the past to make it lapse. */
  setSubscriptionExpiry(id: string, expiry: Date): void;
  /** Sends a lifecycle notification for a subscription. */
  sendLifecycleEvent(
    id: string,
    event: 'missed' | 'reauthorizationRequired' | 'subscriptionRemoved',
  ): void;
  /** Overrides the validation token (e.g. with markup) and the validation timeout. */
  setValidation(validation: { token?: string; timeoutMs?: number }): void;
  /** Resolves when every notification delivery started so far has finished. */
  flushNotifications(): Promise<void>;
  /** Counters of one mailbox. */
  stats(mailbox: string): MailboxStats;
  /** Clears the request log and per-mailbox counters. */
  resetStats(): void;
  /** Stops the server and closes open connections. */
  close(): Promise<void>;
}

/** A message to deliver into a simulated mailbox. */
export interface DeliverMessageInput {
  mime: Buffer | string;
  /** Folder id or well-known name; default `inbox`. */
  folder?: string;
  /** Default now. */
  receivedAt?: Date;
  /** Default the time received. */
  modifiedAt?: Date;
  internetMessageId?: string;
  isDraft?: boolean;
}

/** Moves of more messages than this in one action send only a `missed` lifecycle notification. */
const BULK_MOVE_NOTIFICATION_LIMIT = 25;

interface MailboxCounters extends MailboxStats {
  inFlight: number;
  windowStart: number;
  windowCount: number;
}

/**
 * Starts an HTTPS server on 127.0.0.1 that behaves like Microsoft Graph for the calls mailsweep
 * makes, with the Outlook per-app, per-mailbox limits of Graph's throttling docs.
 */
export async function startGraphSimulator(
  options: GraphSimulatorOptions = {},
): Promise<GraphSimulator> {
  const certificate = await createLocalCertificate();
  const tenantId = options.tenantId ?? randomUUID();
  const clientId = options.clientId ?? randomUUID();
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  const random = createRandom(options.seed ?? 1);
  const faults: SimulatorFaults = { ...defaultFaults(), ...options.faults };
  const hooks: NotificationHooks = { ...defaultNotificationHooks(), ...options.notificationHooks };
  const store = new MailboxStore();
  const validation: { token?: string; timeoutMs: number } = { timeoutMs: VALIDATION_TIMEOUT_MS };
  const hub = new SubscriptionHub(store, hooks, random, tenantId, validation);
  const tokens = new Map<string, number>();
  const counters = new Map<string, MailboxCounters>();
  const scripted: ScriptedFault[] = [];
  const groups = new Map<string, string[]>();
  const usersWithoutMailbox = new Set<string>();
  const requestLog: RequestLogEntry[] = [];
  const tokenLifetime = options.tokenLifetimeSeconds ?? 3600;

  const server: Server = createServer({ cert: certificate.cert, key: certificate.key });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const authorityHost = `https://127.0.0.1:${port}`;
  const baseUrl = `${authorityHost}/v1.0`;

  const routeContext: MailRouteContext = {
    store,
    hub,
    baseUrl,
    truncations: new Map(),
    sentMail: [],
    softDeleted: [],
    permanentlyDeleted: [],
    deltaPages: new Map(),
  };

  const countersOf = (mailboxId: string): MailboxCounters => {
    let entry = counters.get(mailboxId);
    if (entry === undefined) {
      entry = {
        requests: 0,
        peakConcurrency: 0,
        throttled: 0,
        inFlight: 0,
        windowStart: Date.now(),
        windowCount: 0,
      };
      counters.set(mailboxId, entry);
    }
    return entry;
  };

  const findMailbox = (idOrMail: string): SimMailbox => {
    const mailbox = store.findMailbox(idOrMail);
    if (mailbox === undefined) {
      throw new Error(`no simulated mailbox ${idOrMail}`);
    }
    return mailbox;
  };

  /** Token endpoint and OpenID metadata, as msal-node requests them for client credentials. */
  const handleIdentity = async (
    path: string,
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<boolean> => {
    const authority = `${authorityHost}/${tenantId}`;
    if (path === `/${tenantId}/v2.0/.well-known/openid-configuration`) {
      sendJson(response, 200, {
        token_endpoint: `${authority}/oauth2/v2.0/token`,
        authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
        issuer: `${authority}/v2.0`,
        jwks_uri: `${authority}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'token'],
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt'],
      });
      return true;
    }
    if (path === `/${tenantId}/oauth2/v2.0/token` && request.method === 'POST') {
      const form = new URLSearchParams((await readBody(request)).toString('utf8'));
      const assertion = form.get('client_assertion') ?? '';
      // A certificate or federated credential sends a signed JWT; the simulator checks its shape
      // only, because it does not know the certificate.
      const authenticated =
        form.get('client_secret') === clientSecret || assertion.split('.').length === 3;
      if (
        form.get('grant_type') !== 'client_credentials' ||
        form.get('client_id') !== clientId ||
        !authenticated
      ) {
        sendJson(response, 401, {
          error: 'invalid_client',
          error_description: 'AADSTS7000215: Invalid client secret provided.',
        });
        return true;
      }
      const accessToken = randomBytes(32).toString('base64url');
      tokens.set(accessToken, Date.now() + tokenLifetime * 1000);
      sendJson(response, 200, {
        token_type: 'Bearer',
        expires_in: tokenLifetime,
        ext_expires_in: tokenLifetime,
        access_token: accessToken,
      });
      return true;
    }
    return false;
  };

  const isAuthorized = (request: IncomingMessage): boolean => {
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '');
    const expiry = match === null ? undefined : tokens.get(match[1]!);
    return expiry !== undefined && expiry > Date.now();
  };

  const takeScriptedFault = (
    method: string,
    path: string,
    mailbox?: SimMailbox,
  ): ScriptedFault | undefined => {
    const index = scripted.findIndex(
      (fault) =>
        (fault.method === undefined || fault.method === method) &&
        (fault.pathIncludes === undefined || path.includes(fault.pathIncludes)) &&
        (fault.mailbox === undefined ||
          (mailbox !== undefined &&
            (fault.mailbox === mailbox.id || fault.mailbox.toLowerCase() === mailbox.mail))),
    );
    if (index < 0) {
      return undefined;
    }
    const fault = scripted[index]!;
    fault.times = (fault.times ?? 1) - 1;
    if (fault.times <= 0) {
      scripted.splice(index, 1);
    }
    return fault;
  };

  const sendFault = (response: ServerResponse, fault: ScriptedFault): void => {
    if (fault.status === 0) {
      response.socket?.destroy();
      return;
    }
    const headers: Record<string, string> =
      fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter };
    if (fault.code === undefined) {
      response.writeHead(fault.status, { ...headers, 'content-length': 0 });
      response.end();
      return;
    }
    sendGraphError(response, fault.status, fault.code, 'Injected fault.', headers);
  };

  /**
   * Admits one request to a mailbox or answers it 429/503, in the order Outlook applies its
   * limits: concurrency (4 per app and mailbox), then the 10,000-per-10-minutes budget.
   */
  const admit = (mailbox: SimMailbox, response: ServerResponse): boolean => {
    const entry = countersOf(mailbox.id);
    entry.requests += 1;
    entry.inFlight += 1;
    entry.peakConcurrency = Math.max(entry.peakConcurrency, entry.inFlight);
    response.on('close', () => {
      entry.inFlight -= 1;
    });
    const now = Date.now();
    if (now - entry.windowStart >= faults.windowMs) {
      entry.windowStart = now;
      entry.windowCount = 0;
    }
    entry.windowCount += 1;
    if (entry.inFlight > faults.maxConcurrentPerMailbox) {
      entry.throttled += 1;
      const headers: Record<string, string> =
        faults.concurrencyRetryAfterSeconds === undefined
          ? {}
          : { 'retry-after': String(faults.concurrencyRetryAfterSeconds) };
      sendGraphError(
        response,
        429,
        'ApplicationThrottled',
        'Application is over its MailboxConcurrency limit.',
        headers,
      );
      return false;
    }
    if (entry.windowCount > faults.requestsPerWindow) {
      entry.throttled += 1;
      const seconds = Math.ceil((entry.windowStart + faults.windowMs - now) / 1000);
      sendGraphError(
        response,
        429,
        'ApplicationThrottled',
        'Application is over its request limit.',
        { 'retry-after': String(seconds) },
      );
      return false;
    }
    if (random() < faults.throttleRate) {
      entry.throttled += 1;
      const headers: Record<string, string> =
        faults.throttleRetryAfterSeconds === undefined
          ? {}
          : { 'retry-after': String(faults.throttleRetryAfterSeconds) };
      sendGraphError(
        response,
        429,
        'ApplicationThrottled',
        'Application is over its request limit.',
        headers,
      );
      return false;
    }
    if (random() < faults.unavailableRate) {
      sendGraphError(
        response,
        503,
        'ServiceUnavailable',
        'The service is temporarily unavailable.',
      );
      return false;
    }
    return true;
  };

  const handleUsers = async (
    segments: string[],
    url: URL,
    request: IncomingMessage,
    response: ServerResponse,
    log: RequestLogEntry,
  ): Promise<void> => {
    const mailbox = store.findMailbox(segments[1] ?? '');
    if (mailbox === undefined) {
      return sendGraphError(response, 404, 'ErrorInvalidUser', 'The requested user is invalid.');
    }
    log.mailboxId = mailbox.id;
    if (mailbox.kind === 'on-premises') {
      // Hybrid: a mailbox hosted on premises cannot be reached over REST.
      return sendGraphError(
        response,
        404,
        'MailboxNotEnabledForRESTAPI',
        'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
      );
    }
    if (mailbox.kind === 'on-premises-bare-404') {
      return sendEmpty(response, 404);
    }
    if (!admit(mailbox, response)) {
      return;
    }
    const fault = takeScriptedFault(request.method ?? 'GET', log.path, mailbox);
    if (fault !== undefined) {
      return sendFault(response, fault);
    }
    if (faults.latencyMs > 0) {
      await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
    }
    await handleMailboxRequest(routeContext, mailbox, segments.slice(2), url, request, response);
  };

  /**
   * `GET /users/{id | userPrincipalName}`: a directory read. Without `$select` it returns the
   * default properties (here id, mail and userPrincipalName). With `$select` it returns only the
   * named ones, and only then proxyAddresses. An unknown property in `$select` is 400, and an
   * unknown user 404 Request_ResourceNotFound. The directory returns every user, an
   * on-premises mailbox's included. Scripted faults without a mailbox apply, as on the other
   * tenant-wide routes. The Outlook per-mailbox limits do not, because this is no mailbox call.
   */
  const handleUser = (
    idOrMail: string,
    url: URL,
    request: IncomingMessage,
    response: ServerResponse,
    log: RequestLogEntry,
  ): void => {
    const fault = takeScriptedFault(request.method ?? 'GET', log.path);
    if (fault !== undefined) {
      return sendFault(response, fault);
    }
    const mailbox = store.findMailbox(idOrMail);
    if (mailbox === undefined) {
      return sendGraphError(
        response,
        404,
        'Request_ResourceNotFound',
        `Resource '${idOrMail}' does not exist or one of its queried reference-property objects are not present.`,
      );
    }
    log.mailboxId = mailbox.id;
    const user: Record<string, unknown> = {
      id: mailbox.id,
      mail: usersWithoutMailbox.has(mailbox.id) ? null : mailbox.mail,
      userPrincipalName: mailbox.userPrincipalName,
      proxyAddresses: [...mailbox.proxyAddresses],
    };
    const select = url.searchParams.get('$select');
    if (select === null) {
      return sendJson(response, 200, {
        id: user.id,
        mail: user.mail,
        userPrincipalName: user.userPrincipalName,
      });
    }
    const body: Record<string, unknown> = {
      '@odata.context': `${baseUrl}/$metadata#users(${select})/$entity`,
    };
    for (const name of select.split(',').map((item) => item.trim())) {
      const known = Object.keys(user).find((key) => key.toLowerCase() === name.toLowerCase());
      if (known === undefined) {
        return sendGraphError(
          response,
          400,
          'Request_BadRequest',
          `Could not find a property named '${name}' on type 'microsoft.graph.user'.`,
        );
      }
      body[known] = user[known];
    }
    sendJson(response, 200, body);
  };

  const handleSubscriptions = async (
    segments: string[],
    request: IncomingMessage,
    response: ServerResponse,
  ): Promise<void> => {
    const method = request.method ?? 'GET';
    const id = segments[1];
    try {
      if (id === undefined && method === 'GET') {
        return sendJson(response, 200, { value: hub.list().map(toGraphSubscription) });
      }
      if (id === undefined && method === 'POST') {
        const body = (await readJson(request)) as Record<string, unknown> | undefined;
        const input = parseSubscriptionBody(body);
        if (input === undefined) {
          return sendGraphError(
            response,
            400,
            'InvalidRequest',
            'The subscription body is invalid.',
          );
        }
        return sendJson(response, 201, toGraphSubscription(await hub.create(input)));
      }
      if (id !== undefined && segments.length === 2 && method === 'GET') {
        return sendJson(response, 200, toGraphSubscription(hub.find(id)));
      }
      if (id !== undefined && segments.length === 2 && method === 'PATCH') {
        const body = (await readJson(request)) as { expirationDateTime?: unknown } | undefined;
        if (typeof body?.expirationDateTime !== 'string') {
          return sendGraphError(response, 400, 'InvalidRequest', 'expirationDateTime is required.');
        }
        return sendJson(
          response,
          200,
          toGraphSubscription(await hub.renew(id, body.expirationDateTime)),
        );
      }
      if (id !== undefined && segments.length === 2 && method === 'DELETE') {
        hub.find(id);
        hub.subscriptions.delete(id);
        return sendEmpty(response, 204);
      }
      if (id !== undefined && segments[2]?.toLowerCase() === 'reauthorize' && method === 'POST') {
        hub.find(id);
        return sendEmpty(response, 204);
      }
      sendGraphError(response, 400, 'BadRequest', 'Unsupported subscription request.');
    } catch (error) {
      if (error instanceof SubscriptionRejection) {
        return sendGraphError(response, error.status, error.code, error.message);
      }
      throw error;
    }
  };

  const handleGroups = (segments: string[], url: URL, response: ServerResponse): void => {
    const members = groups.get(segments[1] ?? '');
    if (
      members === undefined ||
      segments[2]?.toLowerCase() !== 'transitivemembers' ||
      segments[3] !== 'microsoft.graph.user'
    ) {
      return sendGraphError(response, 404, 'Request_ResourceNotFound', 'The group was not found.');
    }
    const users = transitiveUsers(segments[1]!, groups, new Set()).map((userId) => ({
      '@odata.type': '#microsoft.graph.user',
      id: userId,
      mail: usersWithoutMailbox.has(userId) ? null : (store.mailboxes.get(userId)?.mail ?? null),
    }));
    const size = Number(url.searchParams.get('$top') ?? '100');
    const skip = Number(url.searchParams.get('$skiptoken') ?? '0');
    const body: Record<string, unknown> = { value: users.slice(skip, skip + size) };
    if (skip + size < users.length) {
      body['@odata.nextLink'] =
        `${baseUrl}/groups/${segments[1]}/transitiveMembers/microsoft.graph.user?$top=${size}&$skiptoken=${skip + size}`;
    }
    sendJson(response, 200, body);
  };

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', authorityHost);
    const log: RequestLogEntry = {
      method: request.method ?? 'GET',
      path: url.pathname.replace(/^\/v1\.0/, ''),
      status: 0,
      receivedAt: Date.now(),
    };
    response.on('close', () => {
      log.status = response.writableFinished || response.headersSent ? response.statusCode : 0;
      requestLog.push(log);
    });
    const route = async (): Promise<void> => {
      if (await handleIdentity(url.pathname, request, response)) {
        return;
      }
      if (!url.pathname.startsWith('/v1.0/')) {
        return sendGraphError(response, 404, 'BadRequest', 'Unknown path.');
      }
      if (!isAuthorized(request)) {
        return sendGraphError(
          response,
          401,
          'InvalidAuthenticationToken',
          'Access token is empty or invalid.',
        );
      }
      const segments = log.path
        .split('/')
        .filter((segment) => segment.length > 0)
        .map((segment) => decodeURIComponent(segment));
      const head = segments[0]?.toLowerCase();
      if (head === 'users' && segments.length === 2 && request.method === 'GET') {
        return handleUser(segments[1]!, url, request, response, log);
      }
      if (head === 'users' && segments.length >= 3) {
        return handleUsers(segments, url, request, response, log);
      }
      const fault = takeScriptedFault(request.method ?? 'GET', log.path);
      if (fault !== undefined) {
        return sendFault(response, fault);
      }
      if (head === 'subscriptions') {
        return handleSubscriptions(segments, request, response);
      }
      if (head === 'groups') {
        return handleGroups(segments, url, response);
      }
      sendGraphError(response, 400, 'BadRequest', 'Unsupported request.');
    };
    route().catch(() => {
      if (!response.headersSent) {
        sendGraphError(response, 500, 'InternalServerError', 'Simulator error.');
      } else {
        response.destroy();
      }
    });
  });

  return {
    baseUrl,
    authorityHost,
    tokenUrl: `${authorityHost}/${tenantId}/oauth2/v2.0/token`,
    tenantId,
    clientId,
    clientSecret,
    certificate: certificate.cert,
    faults,
    notificationHooks: hooks,
    requestLog,
    deliveries: hub.deliveries,
    droppedNotifications: hub.dropped,
    sentMail: routeContext.sentMail,
    softDeleted: routeContext.softDeleted,
    permanentlyDeleted: routeContext.permanentlyDeleted,
    addMailbox: (mail, kind) => store.addMailbox(mail, kind),
    addUserWithoutMailbox: () => {
      const id = randomUUID();
      usersWithoutMailbox.add(id);
      return id;
    },
    setProxyAddresses: (idOrMail, proxyAddresses) => {
      findMailbox(idOrMail).proxyAddresses = [...proxyAddresses];
    },
    addGroup: (members) => {
      const id = randomUUID();
      groups.set(id, [...members]);
      return id;
    },
    deliverMessage: (idOrMail, input) => {
      const mailbox = findMailbox(idOrMail);
      const folder = store.findFolder(mailbox, input.folder ?? 'inbox');
      if (folder === undefined) {
        throw new Error(`no folder ${input.folder ?? 'inbox'}`);
      }
      const message = store.addMessage(mailbox, folder, {
        mime: typeof input.mime === 'string' ? Buffer.from(input.mime) : input.mime,
        receivedDateTime: (input.receivedAt ?? new Date()).toISOString(),
        lastModifiedDateTime: input.modifiedAt?.toISOString(),
        internetMessageId: input.internetMessageId ?? `<${randomUUID()}@simulator.test>`,
        isDraft: input.isDraft ?? false,
      });
      hub.notifyChange(mailbox, folder.id, 'created', message.id);
      return message;
    },
    createFolder: (idOrMail, displayName, parent) => {
      const mailbox = findMailbox(idOrMail);
      const parentFolder = parent === undefined ? undefined : store.findFolder(mailbox, parent);
      return store.createFolder(mailbox, displayName, false, parentFolder?.id);
    },
    mailbox: findMailbox,
    message: (idOrMail, id) => findMailbox(idOrMail).messages.get(id),
    expireDeltaLinks: (idOrMail) => store.expireDeltaTokens(findMailbox(idOrMail)),
    moveInBulk: (idOrMail, messageIds, folderName) => {
      const mailbox = findMailbox(idOrMail);
      const destination = store.findFolder(mailbox, folderName);
      if (destination === undefined) {
        throw new Error(`no folder ${folderName}`);
      }
      const bulk = messageIds.length > BULK_MOVE_NOTIFICATION_LIMIT;
      const newIds = messageIds.map((id) => {
        const message = mailbox.messages.get(id);
        if (message === undefined) {
          throw new Error(`no message ${id}`);
        }
        const moved = store.moveMessage(mailbox, message, destination);
        if (!bulk) {
          hub.notifyChange(mailbox, message.folderId, 'deleted', message.id);
          hub.notifyChange(mailbox, destination.id, 'created', moved.id);
        }
        return moved.id;
      });
      if (bulk) {
        for (const subscription of hub.list().filter((entry) => entry.mailboxId === mailbox.id)) {
          hub.sendLifecycleEvent(subscription.id, 'missed');
        }
      }
      return newIds;
    },
    truncateMime: (messageId, truncation) => routeContext.truncations.set(messageId, truncation),
    addFault: (fault) => scripted.push({ ...fault }),
    subscriptions: () => hub.list(),
    setSubscriptionExpiry: (id, expiry) => {
      hub.find(id).expirationDateTime = expiry.toISOString();
    },
    sendLifecycleEvent: (id, event) => hub.sendLifecycleEvent(id, event),
    setValidation: (next) => {
      validation.token = next.token;
      validation.timeoutMs = next.timeoutMs ?? VALIDATION_TIMEOUT_MS;
    },
    flushNotifications: () => hub.flush(),
    stats: (idOrMail) => {
      const entry = countersOf(findMailbox(idOrMail).id);
      return {
        requests: entry.requests,
        peakConcurrency: entry.peakConcurrency,
        throttled: entry.throttled,
      };
    },
    resetStats: () => {
      requestLog.length = 0;
      for (const entry of counters.values()) {
        entry.requests = 0;
        entry.peakConcurrency = entry.inFlight;
        entry.throttled = 0;
      }
    },
    close: async () => {
      await hub.flush();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function transitiveUsers(
  groupId: string,
  groups: Map<string, string[]>,
  seen: Set<string>,
): string[] {
  if (seen.has(groupId)) {
    return [];
  }
  seen.add(groupId);
  const users: string[] = [];
  for (const member of groups.get(groupId) ?? []) {
    if (groups.has(member)) {
      users.push(...transitiveUsers(member, groups, seen));
    } else if (!users.includes(member)) {
      users.push(member);
    }
  }
  return [...new Set(users)];
}

function parseSubscriptionBody(body: Record<string, unknown> | undefined) {
  const text = (key: string): string | undefined =>
    typeof body?.[key] === 'string' ? (body[key] as string) : undefined;
  const resource = text('resource');
  const changeType = text('changeType');
  const notificationUrl = text('notificationUrl');
  const expirationDateTime = text('expirationDateTime');
  if (
    resource === undefined ||
    changeType === undefined ||
    notificationUrl === undefined ||
    expirationDateTime === undefined
  ) {
    return undefined;
  }
  return {
    resource,
    changeType,
    notificationUrl,
    expirationDateTime,
    lifecycleNotificationUrl: text('lifecycleNotificationUrl'),
    clientState: text('clientState'),
  };
}

function toGraphSubscription(subscription: SimSubscription): Record<string, unknown> {
  return {
    id: subscription.id,
    resource: subscription.resource,
    changeType: subscription.changeTypes.join(','),
    notificationUrl: subscription.notificationUrl,
    lifecycleNotificationUrl: subscription.lifecycleNotificationUrl ?? null,
    expirationDateTime: subscription.expirationDateTime,
    // Graph never returns clientState in responses.
    clientState: null,
  };
}
