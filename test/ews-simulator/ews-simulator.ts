import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

import { XMLParser } from 'fast-xml-parser';

import { createRandom } from '../graph-simulator/faults.js';
import { createLocalCertificate } from '../graph-simulator/tls.js';
import { listMimeAttachments } from '../helpers/sim-attachments.js';
import {
  createFolders,
  createItems,
  deleteAttachments,
  deleteItems,
  esc,
  findFolders,
  findItems,
  getItems,
  moveItems,
  OperationError,
  requestedItemIds,
  responseXml,
  syncFolderItems,
  updateItems,
  failure,
  wantsAttachments,
  type Node,
} from './ews-operations.js';
import {
  createMailbox,
  findFolder,
  newEwsId,
  recordChange,
  type SimItem,
  type SimMailbox,
} from './ews-store.js';
import { PushNotifier, type PushOptions } from './ews-push.js';
import { createChallenge, ntlmMessageType, verifyAuthenticate } from './ntlm-server.js';

export type { SimFolder, SimItem, SimMailbox } from './ews-store.js';
export type { PushDelivery, SimPushSubscription } from './ews-push.js';

/** A fault the simulator injects into one SOAP request. */
export type EwsFault = 'busy' | 'busy-no-backoff' | 'html' | 'truncated' | 'http-500';

/** Faults applied to authenticated SOAP requests. */
export interface EwsFaults {
  /** Milliseconds of delay before every SOAP response; default 0. */
  latencyMs: number;
  /** Share of requests that get ErrorServerBusy, 0 to 1; default 0. */
  serverBusyRate: number;
  /** BackOffMilliseconds sent with ErrorServerBusy; undefined sends none. Default 50. */
  backOffMs: number | undefined;
  /** Share of requests that get an HTML page; default 0. */
  htmlRate: number;
  /** Share of requests whose SOAP body is cut in half; default 0. */
  truncatedRate: number;
  /** Requests in flight the server admits; more get ErrorServerBusy. Default no limit. */
  maxConcurrency: number;
  /** Faults for the next requests, taken one per request before the rates apply. */
  scripted: EwsFault[];
}

/** An account that may sign in, with the mailboxes it may impersonate. */
export interface EwsAccount {
  user: string;
  password: string;
  /** `all` (the ApplicationImpersonation role on every mailbox) or a list of addresses. */
  impersonate: 'all' | string[];
}

/** Options for startEwsSimulator. */
export interface EwsSimulatorOptions {
  /** Authentication schemes offered; default both. */
  auth?: Array<'basic' | 'ntlm'>;
  accounts?: EwsAccount[];
  faults?: Partial<EwsFaults>;
  /** Seed of the generator behind fault rates; default 1. */
  seed?: number;
  /** Push notifications; the StatusFrequency minute can be shortened for tests. */
  push?: PushOptions;
}

/** One SOAP request the simulator answered. */
export interface EwsRequestLogEntry {
  operation: string;
  /** The impersonated mailbox (SmtpAddress), if any. */
  mailbox?: string;
  /** The X-AnchorMailbox header, if any. */
  anchorMailbox?: string;
  /** RequestServerVersion's Version. */
  serverVersion?: string;
  user: string;
  auth: 'basic' | 'ntlm';
  status: number;
  fault?: string;
}

/** Input for deliverMessage. */
export interface DeliverInput {
  mime: Buffer | string;
  /** Distinguished name or folder id; default inbox. */
  folder?: string;
  receivedAt?: Date;
  internetMessageId?: string;
  isDraft?: boolean;
  /** item:Size to report instead of the MIME length. */
  size?: number;
}

/** A running EWS simulator and its programmatic API. */
export interface EwsSimulator {
  /** EWS URL, e.g. `https://127.0.0.1:PORT/EWS/Exchange.asmx`. */
  url: string;
  /** PEM of the self-signed certificate, for the client's `ca`. */
  ca: string;
  faults: EwsFaults;
  requestLog: EwsRequestLogEntry[];
  /** Most SOAP requests in flight at once, counting those refused for concurrency. */
  peakConcurrency: number;
  /** NTLM negotiate messages answered with a challenge. */
  ntlmChallenges: number;
  /** Push subscriptions, their deliveries, and a switch that makes every delivery fail. */
  push: PushNotifier;
  addAccount(account: EwsAccount): void;
  addMailbox(address: string): SimMailbox;
  mailbox(address: string): SimMailbox;
  deliverMessage(address: string, input: DeliverInput): SimItem;
  /** Makes GetItem return only the first `keepBytes` bytes of an item's MIME. */
  truncateMime(address: string, itemId: string, keepBytes: number): void;
  /** Makes every sync state issued so far for the mailbox invalid. */
  invalidateSyncStates(address: string): void;
  close(): Promise<void>;
}

const REQUEST_ARRAYS = new Set([
  'FieldURI',
  'ExtendedFieldURI',
  'ItemId',
  'SetItemField',
  'String',
  'ExtendedProperty',
  'IsGreaterThanOrEqualTo',
  'IsGreaterThan',
  'IsLessThan',
  'IsLessThanOrEqualTo',
  'Message',
  'Folder',
  'ItemChange',
]);

const requestParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  removeNSPrefix: true,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  htmlEntities: false,
  isArray: (name) => REQUEST_ARRAYS.has(name),
});

const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">' +
  '<s:Header><h:ServerVersionInfo MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11" xmlns:h="http://schemas.microsoft.com/exchange/services/2006/types"/></s:Header>' +
  '<s:Body xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types">';
const ENVELOPE_CLOSE = '</s:Body></s:Envelope>';

function faultXml(code: string, message: string, backOffMs?: number): string {
  const messageXml =
    backOffMs === undefined
      ? ''
      : `<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:Value Name="BackOffMilliseconds">${backOffMs}</t:Value></t:MessageXml>`;
  return (
    '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>' +
    `<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:${code}</faultcode>` +
    `<faultstring xml:lang="en-US">${esc(message)}</faultstring><detail>` +
    `<e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">${code}</e:ResponseCode>` +
    `<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">${esc(message)}</e:Message>` +
    `${messageXml}</detail></s:Fault></s:Body></s:Envelope>`
  );
}

const HTML_PAGE =
  '<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>';

/**
 * Starts an EWS server on 127.0.0.1 (HTTPS, a free port) that answers FindFolder, FindItem,
 * GetItem, MoveItem, DeleteItem, UpdateItem, CreateItem, CreateFolder and SyncFolderItems with
 * the documented response shapes, and Subscribe with push notifications to a callback URL
 * (test/ews-simulator/ews-push.ts). It authenticates with Basic or NTLM (the 401 challenge flow,
 * NTLMv2 verified), enforces impersonation rights, caps a restricted FindItem page at 250 items,
 * refuses requests over its concurrency limit with ErrorServerBusy, and injects faults.
 */
export async function startEwsSimulator(options: EwsSimulatorOptions = {}): Promise<EwsSimulator> {
  const { cert, key } = await createLocalCertificate();
  const schemes = options.auth ?? ['basic', 'ntlm'];
  const accounts = new Map<string, EwsAccount>();
  for (const account of options.accounts ?? []) {
    accounts.set(account.user.toLowerCase(), account);
  }
  const mailboxes = new Map<string, SimMailbox>();
  const random = createRandom(options.seed ?? 1);
  const challenges = new WeakMap<Socket, Buffer>();
  let inFlight = 0;
  const push = new PushNotifier(options.push);

  const faults: EwsFaults = {
    latencyMs: 0,
    serverBusyRate: 0,
    backOffMs: 50,
    htmlRate: 0,
    truncatedRate: 0,
    maxConcurrency: Number.POSITIVE_INFINITY,
    scripted: [],
    ...options.faults,
  };

  const simulator: EwsSimulator = {
    url: '',
    ca: cert,
    faults,
    requestLog: [],
    peakConcurrency: 0,
    ntlmChallenges: 0,
    push,
    addAccount(account) {
      accounts.set(account.user.toLowerCase(), account);
    },
    addMailbox(address) {
      const mailbox = createMailbox(address.toLowerCase());
      mailbox.onChange = (change) => push.onChange(mailbox, change);
      mailboxes.set(address.toLowerCase(), mailbox);
      return mailbox;
    },
    mailbox(address) {
      const mailbox = mailboxes.get(address.toLowerCase());
      if (mailbox === undefined) {
        throw new Error(`no simulated mailbox ${address}`);
      }
      return mailbox;
    },
    deliverMessage(address, input) {
      const mailbox = simulator.mailbox(address);
      const target = input.folder ?? 'inbox';
      const folder =
        findFolder(mailbox, { distinguished: target }) ?? findFolder(mailbox, { id: target });
      if (folder === undefined) {
        throw new Error(`no folder ${target}`);
      }
      const mime = typeof input.mime === 'string' ? Buffer.from(input.mime) : input.mime;
      const receivedAt = input.receivedAt ?? new Date();
      const item: SimItem = {
        id: newEwsId(),
        folderId: folder.id,
        mime,
        subject: /^subject: *(.*)$/im.exec(mime.subarray(0, 4096).toString('latin1'))?.[1] ?? '',
        categories: [],
        flagged: false,
        isDraft: input.isDraft ?? false,
        receivedAt,
        modifiedAt: receivedAt,
        internetMessageId: input.internetMessageId,
        size: input.size,
      };
      mailbox.items.set(item.id, item);
      recordChange(mailbox, folder.id, 'create', item.id);
      push.onNewMail(mailbox, item);
      return item;
    },
    truncateMime(address, itemId, keepBytes) {
      const item = simulator.mailbox(address).items.get(itemId);
      if (item === undefined) {
        throw new Error('no such item');
      }
      item.mimeCutBytes = keepBytes;
    },
    invalidateSyncStates(address) {
      simulator.mailbox(address).syncEpoch += 1;
    },
    close: () =>
      new Promise<void>((resolve) => {
        push.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  /** Authenticates a request; returns the user, or undefined after answering 401 itself. */
  function authenticate(
    request: IncomingMessage,
    response: ServerResponse,
  ): { user: string; scheme: 'basic' | 'ntlm' } | undefined {
    const header = request.headers.authorization;
    if (schemes.includes('basic') && header?.startsWith('Basic ')) {
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const account = accounts.get(decoded.slice(0, colon).toLowerCase());
      if (colon > 0 && account !== undefined && account.password === decoded.slice(colon + 1)) {
        return { user: account.user, scheme: 'basic' };
      }
    }
    const ntlm = schemes.includes('ntlm') ? ntlmMessageType(header) : undefined;
    if (ntlm?.type === 1) {
      const { header: challengeHeader, challenge } = createChallenge();
      challenges.set(request.socket, challenge);
      simulator.ntlmChallenges += 1;
      response.writeHead(401, { 'www-authenticate': challengeHeader, 'content-length': '0' });
      response.end();
      return undefined;
    }
    if (ntlm?.type === 3) {
      const challenge = challenges.get(request.socket);
      challenges.delete(request.socket);
      const verified =
        challenge === undefined
          ? undefined
          : verifyAuthenticate(
              ntlm.message,
              challenge,
              (user) => accounts.get(user.toLowerCase())?.password,
            );
      if (verified !== undefined) {
        return {
          user: accounts.get(verified.user.toLowerCase())?.user ?? verified.user,
          scheme: 'ntlm',
        };
      }
    }
    const offers = schemes.map((scheme) =>
      scheme === 'basic' ? 'Basic realm="127.0.0.1"' : 'NTLM',
    );
    response.writeHead(401, {
      'www-authenticate': offers,
      'content-type': 'text/html',
      connection: 'close',
    });
    response.end('<html><body>401 Unauthorized</body></html>');
    return undefined;
  }

  function pickFault(): EwsFault | undefined {
    const scripted = faults.scripted.shift();
    if (scripted !== undefined) {
      return scripted;
    }
    if (faults.serverBusyRate > 0 && random() < faults.serverBusyRate) {
      return faults.backOffMs === undefined ? 'busy-no-backoff' : 'busy';
    }
    if (faults.htmlRate > 0 && random() < faults.htmlRate) {
      return 'html';
    }
    if (faults.truncatedRate > 0 && random() < faults.truncatedRate) {
      return 'truncated';
    }
    return undefined;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) {
      chunks.push(chunk as Buffer);
    }
    if (request.method !== 'POST' || request.url !== '/EWS/Exchange.asmx') {
      response.writeHead(404, { 'content-type': 'text/html' }).end('<html>Not Found</html>');
      return;
    }
    const auth = authenticate(request, response);
    if (auth === undefined) {
      return;
    }
    inFlight += 1;
    simulator.peakConcurrency = Math.max(simulator.peakConcurrency, inFlight);
    const entry: EwsRequestLogEntry = {
      operation: 'unknown',
      user: auth.user,
      auth: auth.scheme,
      status: 200,
    };
    const anchor = request.headers['x-anchormailbox'];
    if (typeof anchor === 'string') {
      entry.anchorMailbox = anchor;
    }
    simulator.requestLog.push(entry);
    try {
      if (faults.latencyMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, faults.latencyMs));
      }
      const { status, body, contentType } = await answer(
        Buffer.concat(chunks).toString('utf8'),
        auth.user,
        entry,
      );
      entry.status = status;
      response.writeHead(status, { 'content-type': contentType });
      response.end(body);
    } finally {
      inFlight -= 1;
    }
  }

  async function answer(
    document: string,
    user: string,
    entry: EwsRequestLogEntry,
  ): Promise<{ status: number; body: string; contentType: string }> {
    const xml = 'text/xml; charset=utf-8';
    let envelope: Node;
    try {
      envelope = (requestParser.parse(document) as Node).Envelope as Node;
    } catch {
      return {
        status: 500,
        body: faultXml('ErrorSchemaValidation', 'The request failed schema validation.'),
        contentType: xml,
      };
    }
    const header = (envelope?.Header ?? {}) as Node;
    const body = (envelope?.Body ?? {}) as Node;
    const operation = Object.keys(body).find((key) => !key.startsWith('@_')) ?? 'unknown';
    entry.operation = operation;
    entry.serverVersion = String(
      (header.RequestServerVersion as Node | undefined)?.['@_Version'] ?? '',
    );
    const sid = ((header.ExchangeImpersonation as Node | undefined)?.ConnectingSID ?? {}) as Node;
    const impersonated = [sid.SmtpAddress, sid.PrimarySmtpAddress, sid.PrincipalName].find(
      (value) => typeof value === 'string',
    ) as string | undefined;
    if (impersonated !== undefined) {
      entry.mailbox = impersonated;
    }

    if (inFlight > faults.maxConcurrency) {
      entry.fault = 'concurrency';
      return {
        status: 500,
        body: faultXml(
          'ErrorServerBusy',
          'The server cannot service this request right now. Try again later.',
          faults.backOffMs ?? 100,
        ),
        contentType: xml,
      };
    }
    const fault = pickFault();
    if (fault !== undefined) {
      entry.fault = fault;
    }
    if (fault === 'busy' || fault === 'busy-no-backoff') {
      const backOff = fault === 'busy' ? (faults.backOffMs ?? 50) : undefined;
      return {
        status: 500,
        body: faultXml(
          'ErrorServerBusy',
          'The server cannot service this request right now. Try again later.',
          backOff,
        ),
        contentType: xml,
      };
    }
    if (fault === 'html') {
      return { status: 200, body: HTML_PAGE, contentType: 'text/html; charset=utf-8' };
    }
    if (fault === 'http-500') {
      return { status: 500, body: '', contentType: xml };
    }
    if (impersonated === undefined) {
      return {
        status: 500,
        body: faultXml('ErrorMissingEmailAddress', 'No mailbox was named.'),
        contentType: xml,
      };
    }
    const mailbox = mailboxes.get(impersonated.toLowerCase());
    if (mailbox === undefined) {
      return {
        status: 500,
        body: faultXml(
          'ErrorNonExistentMailbox',
          'The SMTP address has no mailbox associated with it.',
        ),
        contentType: xml,
      };
    }
    const account = accounts.get(user.toLowerCase());
    const allowed =
      account?.impersonate === 'all' ||
      (account?.impersonate ?? []).some((address) => address.toLowerCase() === mailbox.address);
    if (!allowed) {
      return {
        status: 500,
        body: faultXml(
          'ErrorImpersonateUserDenied',
          'The account does not have permission to impersonate the requested user.',
        ),
        contentType: xml,
      };
    }
    const request = (body[operation] ?? {}) as Node;
    if (operation === 'GetItem' && wantsAttachments(request)) {
      await readAttachments(mailbox, requestedItemIds(request));
    }
    const result =
      ENVELOPE_OPEN +
      runOperation(operation, request, mailbox, push) +
      ENVELOPE_CLOSE;
    if (fault === 'truncated') {
      return {
        status: 200,
        body: result.slice(0, Math.floor(result.length / 2)),
        contentType: xml,
      };
    }
    return { status: 200, body: result, contentType: xml };
  }

  const server: Server = createServer({ cert, key, keepAlive: true }, (request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'text/plain' });
      }
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  simulator.url = `https://127.0.0.1:${port}/EWS/Exchange.asmx`;
  return simulator;
}

/** Reads the attachments of the named items from their MIME, once per item. */
async function readAttachments(mailbox: SimMailbox, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    const item = mailbox.items.get(id);
    if (item !== undefined) {
      item.attachments ??= await listMimeAttachments(item.mime);
    }
  }
}

/** Runs one operation and returns its response element. */
function runOperation(
  operation: string,
  request: Node,
  mailbox: SimMailbox,
  push: PushNotifier,
): string {
  const name = operation;
  try {
    switch (operation) {
      case 'FindFolder':
        return responseXml(name, [findFolders(mailbox, request)]);
      case 'FindItem':
        return responseXml(name, [findItems(mailbox, request)]);
      case 'GetItem':
        return responseXml(name, getItems(mailbox, request));
      case 'MoveItem':
        return responseXml(name, moveItems(mailbox, request));
      case 'DeleteItem':
        return responseXml(name, deleteItems(mailbox, request));
      case 'UpdateItem':
        return responseXml(name, updateItems(mailbox, request));
      case 'DeleteAttachment':
        return responseXml(name, deleteAttachments(mailbox, request));
      case 'CreateItem':
        return responseXml(name, createItems(mailbox, request));
      case 'CreateFolder':
        return responseXml(name, createFolders(mailbox, request));
      case 'SyncFolderItems':
        return responseXml(name, [syncFolderItems(mailbox, request)]);
      case 'Subscribe':
        return responseXml(name, [push.subscribe(mailbox, request)]);
      case 'Unsubscribe':
        return responseXml(name, [push.unsubscribe(request)]);
      default:
        return responseXml(name, [failure(name, 'ErrorInvalidOperation')]);
    }
  } catch (error) {
    if (error instanceof OperationError) {
      return responseXml(name, [failure(name, error.responseCode)]);
    }
    throw error;
  }
}
