import type { EngineFailurePolicy, RspamdSettings } from '../../config/settings.js';
import { type DaemonEngine, toFailureFinding } from '../daemon-engine.js';
import type { Deadline, EngineResult, Finding, HeaderField, MessageView, ScanEngine } from '../types.js';
import { findConnectingClient } from './received-chain.js';
import { type CheckContext, createRspamdClient, type RspamdClient } from './rspamd-client.js';
import type { CheckReply, RspamdAction } from './rspamd-reply.js';

const ENGINE_NAME = 'rspamd';

/** Symbols reported as findings per message, highest score first; the rest add nothing new. */
const MAX_SYMBOL_FINDINGS = 50;

/** Most envelope recipients sent; rspamd's own `max_recipients` default is 1024. */
const MAX_RECIPIENTS = 100;

/** Actions that make a message spam. `greylist` only delays delivery, which is over for mail in a mailbox. */
const SPAM_ACTIONS: ReadonlySet<RspamdAction> = new Set(['add header', 'rewrite subject', 'reject']);

/** Options of {@link createRspamdEngine}. */
export interface RspamdEngineOptions {
  /** URL, timeout and size limit; `url` must be set. */
  settings: RspamdSettings;
  /** Failure policy for a daemon that is down, silent or returns an invalid response. */
  failurePolicy: EngineFailurePolicy;
  /** Client to use instead of one built from `settings`; for tests. */
  client?: RspamdClient;
}

/**
 * Creates the rspamd antispam engine (`rspamd`). It sends the raw message to /checkv2 with the
 * context a mail server would give: envelope sender and recipients, the connecting client's IP and
 * HELO from the Received chain, and the mailbox as Deliver-To.
 *
 * Findings: for `add header`, `rewrite subject` and `reject`, one spam finding
 * `rspamd.<action>` with rspamd's score, plus one spam finding `rspamd.<SYMBOL>` for each symbol
 * with a positive score. `soft reject` (try later) follows the failure policy like an unreachable
 * daemon. A message over MAILSWEEP_RSPAMD_MAX_MESSAGE_BYTES is `rspamd.max-message-size`
 * (unscannable, not transient), because rspamd would reject it anyway.
 */
export function createRspamdEngine(options: RspamdEngineOptions): DaemonEngine {
  const { settings, failurePolicy } = options;
  const client =
    options.client ??
    createRspamdClient({ url: requireUrl(settings), timeoutMs: settings.timeoutMs });
  const engine: DaemonEngine = {
    name: ENGINE_NAME,
    stage: 'antispam',
    scan: (view, deadline) => scanView(engine, client, view, deadline, settings, failurePolicy),
    probe: async (timeoutMs) => ({ version: await client.version(timeoutMs) }),
  };
  return engine;
}

function requireUrl(settings: RspamdSettings): string {
  if (!settings.url) {
    throw new TypeError('rspamd engine needs settings.url (MAILSWEEP_RSPAMD_URL)');
  }
  return settings.url;
}

async function scanView(
  engine: ScanEngine,
  client: RspamdClient,
  view: MessageView,
  deadline: Deadline,
  settings: RspamdSettings,
  failurePolicy: EngineFailurePolicy,
): Promise<EngineResult> {
  if (view.raw.length > settings.maxMessageBytes) {
    return { findings: [sizeLimitFinding(settings.maxMessageBytes)] };
  }
  let reply: CheckReply;
  try {
    reply = await client.check(view.raw, toCheckContext(view), deadline.expiresAt);
  } catch (error: unknown) {
    return { findings: [toFailureFinding(engine, error, failurePolicy)] };
  }
  if (reply.action === 'soft reject') {
    const deferred: Finding = {
      ...toFailureFinding(engine, undefined, failurePolicy),
      signature: 'engine.deferred',
      reason: 'rspamd asked to try the message later (soft reject)',
    };
    return { findings: [deferred] };
  }
  return { findings: toFindings(reply) };
}

/** Builds the /checkv2 context headers from the message's headers and its mailbox. */
export function toCheckContext(view: Pick<MessageView, 'headers' | 'context'>): CheckContext {
  const context: CheckContext = {};
  const sender = firstAddress(view.headers, 'return-path') ?? firstAddress(view.headers, 'from');
  if (sender) {
    context.from = sender;
  }
  const mailbox = view.context.mailbox;
  const recipients = mailbox ? [mailbox] : addressesOf(view.headers, 'delivered-to');
  if (recipients.length > 0) {
    context.rcpt = recipients.slice(0, MAX_RECIPIENTS);
  }
  const client = findConnectingClient(view.headers);
  if (client.ip) {
    context.ip = client.ip;
  }
  if (client.helo) {
    context.helo = client.helo;
  }
  if (mailbox) {
    context.deliverTo = mailbox;
  }
  return context;
}

/** A whole addr-spec in printable ASCII without spaces or angle brackets. */
const ADDRESS_PATTERN = /^[\x21-\x3b\x3d\x3f-\x7e]{1,320}@[\x21-\x3b\x3d\x3f-\x7e]{1,253}$/;

/**
 * Reads the address of a Return-Path or From value: the text inside the first angle brackets, or
 * the whole value. An address that is not plain ASCII (SMTPUTF8) is left out rather than cut.
 */
function toAddress(value: string): string | undefined {
  const bracketed = /<([^<>]*)>/.exec(value);
  const candidate = (bracketed ? bracketed[1] : value)?.trim() ?? '';
  return ADDRESS_PATTERN.test(candidate) ? candidate : undefined;
}

function firstAddress(headers: readonly HeaderField[], key: string): string | undefined {
  return addressesOf(headers, key)[0];
}

function addressesOf(headers: readonly HeaderField[], key: string): string[] {
  const addresses: string[] = [];
  for (const field of headers) {
    if (field.key !== key) {
      continue;
    }
    const address = toAddress(field.value);
    if (address) {
      addresses.push(address);
    }
  }
  return addresses;
}

function toFindings(reply: CheckReply): Finding[] {
  if (!SPAM_ACTIONS.has(reply.action)) {
    return [];
  }
  const actionFinding: Finding = {
    stage: 'antispam',
    engine: ENGINE_NAME,
    category: 'spam',
    signature: `rspamd.${reply.action.replace(' ', '-')}`,
    reason: `rspamd action ${reply.action}, score ${reply.score} of ${reply.required_score}`,
    score: reply.score,
    mimePath: '',
  };
  const symbols = Object.values(reply.symbols)
    .filter((symbol) => symbol.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, MAX_SYMBOL_FINDINGS)
    .map(
      (symbol): Finding => ({
        stage: 'antispam',
        engine: ENGINE_NAME,
        category: 'spam',
        signature: `rspamd.${symbol.name}`,
        // Descriptions come from rspamd's rules; symbol options can quote the message and are left out.
        reason: symbol.description
          ? `rspamd symbol ${symbol.name}: ${symbol.description}`
          : `rspamd symbol ${symbol.name}`,
        score: symbol.score,
        mimePath: '',
      }),
    );
  return [actionFinding, ...symbols];
}

function sizeLimitFinding(maxMessageBytes: number): Finding {
  return {
    stage: 'antispam',
    engine: ENGINE_NAME,
    category: 'unscannable',
    signature: 'rspamd.max-message-size',
    reason: `message is larger than ${maxMessageBytes} bytes and was not sent to rspamd`,
    mimePath: '',
  };
}
