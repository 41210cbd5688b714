import { ScannerError } from '../../shared/errors.js';
import { engineFailure } from '../daemon-engine.js';
import { type CheckReply, checkReplySchema } from './rspamd-reply.js';

const ENGINE_NAME = 'rspamd';

/**
 * Longest /checkv2 reply read. A reply lists each matched symbol once, so even hundreds of symbols
 * stay far below this; more means a broken or hostile peer.
 */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

/** Options of {@link createRspamdClient}. */
export interface RspamdClientOptions {
  /** Base URL of a normal worker, e.g. `http://127.0.0.1:11333`. */
  url: string;
  /** Time for one request, reply included, in milliseconds. */
  timeoutMs: number;
}

/**
 * Context headers of /checkv2. Each is sent only when set; values must be printable ASCII, because
 * HTTP header values cannot carry line breaks and a crafted address must not add a header.
 */
export interface CheckContext {
  /** Envelope sender (SMTP MAIL FROM). */
  from?: string;
  /** Envelope recipients (SMTP RCPT TO), one header each. */
  rcpt?: readonly string[];
  /** IP address of the connecting SMTP client. */
  ip?: string;
  /** HELO or EHLO name of the connecting client. */
  helo?: string;
  /** Mailbox the message was delivered to. */
  deliverTo?: string;
}

/** An rspamd client over HTTP, using Node's fetch. */
export interface RspamdClient {
  /**
   * POSTs the raw message to /checkv2 and returns the validated reply. `expiresAt` is a
   * `performance.now()` time; the request is aborted at it or after `timeoutMs`, whichever is first.
   * @throws ScannerError `engine-failed` (transient) when rspamd cannot be reached, answers with an
   *   HTTP error status, times out, or returns a body that is not a valid /checkv2 reply.
   */
  check(raw: Uint8Array, context: CheckContext, expiresAt: number): Promise<CheckReply>;
  /**
   * GETs /ping and returns the `Server` header (`rspamd/3.4`).
   * @throws ScannerError `engine-failed` when rspamd does not return `pong`.
   */
  version(timeoutMs: number): Promise<string>;
}

/** Creates an rspamd client. */
export function createRspamdClient(options: RspamdClientOptions): RspamdClient {
  const base = options.url.endsWith('/') ? options.url : `${options.url}/`;
  return {
    check: async (raw, context, expiresAt) => {
      const timeoutMs = Math.min(options.timeoutMs, expiresAt - performance.now());
      const reply = await request(new URL('checkv2', base), timeoutMs, {
        method: 'POST',
        headers: toHeaders(context),
        body: raw,
      });
      return parseCheckReply(reply.body);
    },
    version: async (timeoutMs) => {
      const reply = await request(new URL('ping', base), timeoutMs, { method: 'GET' });
      if (reply.body.trim() !== 'pong') {
        throw engineFailure(ENGINE_NAME, 'bad-response', 'rspamd did not return pong to /ping');
      }
      return reply.server ?? 'rspamd (version not reported)';
    },
  };
}

function toHeaders(context: CheckContext): Headers {
  const headers = new Headers();
  const add = (name: string, value: string | undefined): void => {
    if (value !== undefined && /^[\x21-\x7e][\x20-\x7e]{0,999}$/.test(value)) {
      headers.append(name, value);
    }
  };
  add('From', context.from);
  for (const recipient of context.rcpt ?? []) {
    add('Rcpt', recipient);
  }
  add('IP', context.ip);
  add('Helo', context.helo);
  add('Deliver-To', context.deliverTo);
  return headers;
}

/**
 * Sends one request and reads the body up to {@link MAX_REPLY_BYTES}. Every failure becomes a
 * transient `engine-failed` error of the matching kind, and the body is always consumed or
 * cancelled so that the connection is released.
 */
async function request(
  url: URL,
  timeoutMs: number,
  init: RequestInit,
): Promise<{ body: string; server?: string }> {
  if (timeoutMs <= 0) {
    throw engineFailure(ENGINE_NAME, 'timeout', 'no time left before the scan deadline for rspamd');
  }
  const signal = AbortSignal.timeout(timeoutMs);
  let response: Response;
  try {
    response = await fetch(url, { ...init, signal });
  } catch (error: unknown) {
    throw toRequestFailure(error, signal, timeoutMs);
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw engineFailure(ENGINE_NAME, 'unavailable', `rspamd answered HTTP ${response.status}`);
  }
  try {
    const body = await readLimited(response);
    const server = response.headers.get('server') ?? undefined;
    return server === undefined ? { body } : { body, server };
  } catch (error: unknown) {
    throw toRequestFailure(error, signal, timeoutMs);
  }
}

function toRequestFailure(error: unknown, signal: AbortSignal, timeoutMs: number): Error {
  if (error instanceof ScannerError) {
    return error;
  }
  if (signal.aborted) {
    return engineFailure(ENGINE_NAME, 'timeout', `rspamd did not answer within ${timeoutMs} ms`, error);
  }
  return engineFailure(ENGINE_NAME, 'unavailable', 'rspamd request failed', error);
}

async function readLimited(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_REPLY_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw engineFailure(ENGINE_NAME, 'bad-response', `rspamd reply is larger than ${MAX_REPLY_BYTES} bytes`);
  }
  const reader = response.body?.getReader();
  if (!reader) {
    return '';
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) {
      break;
    }
    total += value.length;
    if (total > MAX_REPLY_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw engineFailure(ENGINE_NAME, 'bad-response', `rspamd reply is larger than ${MAX_REPLY_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Parses a /checkv2 body.
 * @throws ScannerError `engine-failed` of kind `bad-response` for invalid JSON or a reply that
 *   lacks the score, required score or a known action.
 */
export function parseCheckReply(body: string): CheckReply {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error: unknown) {
    throw engineFailure(ENGINE_NAME, 'bad-response', 'rspamd reply is not valid JSON', error);
  }
  const parsed = checkReplySchema.safeParse(json);
  if (!parsed.success) {
    throw engineFailure(ENGINE_NAME, 'bad-response', 'rspamd reply does not match the /checkv2 format', parsed.error);
  }
  return parsed.data;
}
