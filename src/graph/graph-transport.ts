import { Readable } from 'node:stream';

import {
  AuthenticationHandler,
  Client,
  GraphError,
  ResponseType,
} from '@microsoft/microsoft-graph-client';
import { TokenCredentialAuthenticationProvider } from '@microsoft/microsoft-graph-client/authProviders/azureTokenCredentials/index.js';
import type { TokenCredential } from '@azure/identity';

import { ScannerError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { readGraphErrorCode, toScannerError, type RequestScope } from './graph-errors.js';
import { MailboxGate, type MailboxGateOptions } from './mailbox-gate.js';
import { NodeHttpHandler } from './node-http-handler.js';
import {
  computeRetryDelay,
  isRetryableStatus,
  parseRetryAfter,
  type RetryOptions,
} from './retry-policy.js';

/** Largest JSON body the client reads from Graph; a page of 1,000 messages is far below it. */
export const MAX_GRAPH_JSON_BYTES = 32 * 1024 * 1024;

/** Names of the @azure/identity errors a failed token request surfaces as. */
const TOKEN_ERROR_NAMES = new Set([
  'AuthenticationError',
  'AuthenticationRequiredError',
  'CredentialUnavailableError',
  'AggregateAuthenticationError',
]);

/** One Graph request, as the client describes it. */
export interface GraphCall {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Path under the base URL (`/users/...`) or an absolute link Graph returned. */
  path: string;
  /** Mailbox whose limits the request counts against; none for tenant-wide requests. */
  mailbox?: string;
  scope: RequestScope;
  /** Short operation name for logs and error fields. */
  operation: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: unknown;
}

/** A successful response with its body still unread; `release` frees the mailbox slot. */
export interface GraphResponse {
  status: number;
  headers: Headers;
  body: Readable | null;
  release: () => void;
}

/** Options for GraphTransport. */
export interface GraphTransportOptions {
  credential: TokenCredential;
  baseUrl: string;
  gate: MailboxGateOptions;
  retry: RetryOptions;
  idleTimeoutMs: number;
  ca?: string;
  logger: Logger;
}

/**
 * Sends Graph requests through the Graph SDK with the per-mailbox gate, retries and error
 * mapping. Every response other than 2xx becomes a ScannerError, except that 410 is returned to
 * the caller when `allowGone` is set.
 */
export class GraphTransport {
  private readonly client: Client;
  private readonly http: NodeHttpHandler;
  private readonly gate: MailboxGate;
  private readonly origin: string;

  constructor(private readonly options: GraphTransportOptions) {
    const base = new URL(options.baseUrl);
    this.origin = base.origin;
    const version = base.pathname.replace(/^\/+|\/+$/g, '');
    const provider = new TokenCredentialAuthenticationProvider(options.credential, {
      scopes: [`${base.origin}/.default`],
    });
    this.http = new NodeHttpHandler({ idleTimeoutMs: options.idleTimeoutMs, ca: options.ca });
    this.client = Client.initWithMiddleware({
      baseUrl: `${base.origin}/`,
      defaultVersion: version,
      // The SDK attaches the token only to Graph hosts and to these.
      customHosts: new Set([base.hostname]),
      middleware: [new AuthenticationHandler(provider), this.http],
    });
    this.gate = new MailboxGate(options.gate);
  }

  /** Sends a request and parses its JSON response; undefined for an empty body. */
  async json(call: GraphCall): Promise<unknown> {
    return this.readJson(await this.send(call), call.operation);
  }

  /** Reads and parses a response's JSON body, then releases its mailbox slot. */
  async readJson(response: GraphResponse, operation: string): Promise<unknown> {
    try {
      const text = await readText(response.body);
      return text.length === 0 ? undefined : (JSON.parse(text) as unknown);
    } catch (error) {
      if (error instanceof ScannerError) {
        throw error;
      }
      // A body that ends early is a transient failure, but a body that is not JSON is permanent.
      if (error instanceof SyntaxError) {
        throw new ScannerError('mailbox-request-failed', 'Graph response is not valid JSON', {
          cause: error,
          fields: { operation },
        });
      }
      throw new ScannerError('mailbox-unavailable', 'Graph response ended early', {
        cause: error,
        fields: { operation },
      });
    } finally {
      response.release();
    }
  }

  /** Sends a request and discards the response body. */
  async run(call: GraphCall): Promise<void> {
    const response = await this.send(call);
    response.body?.resume();
    response.release();
  }

  /**
   * Sends a request with retries; resolves with the response once the status is 2xx (or 410 with
   * allowGone). The caller must read or drop the body, then call `release`.
   * @throws ScannerError as mapped by toScannerError, after the tries are spent for transient ones.
   */
  async send(call: GraphCall, allowGone = false): Promise<GraphResponse> {
    const retry = this.options.retry;
    for (let tryNumber = 1; ; tryNumber += 1) {
      const release =
        call.mailbox === undefined ? () => undefined : await this.gate.acquire(call.mailbox);
      let response: Response;
      try {
        response = await this.attempt(call);
      } catch (error) {
        release();
        const failure = this.toTransportFailure(error, call);
        if (!failure.transient || tryNumber >= retry.maxTries) {
          this.options.logger.warn('Graph request failed', {
            operation: call.operation,
            status: 0,
            tries: tryNumber,
            code: failure.code,
          });
          throw failure;
        }
        // NOTE: a POST such as move is retried too. If Graph carried out the first try but the
        // response was lost, the retry finds the old id gone and reports `mailbox-not-found`.
        // Callers must look the message up by internetMessageId before treating that as lost.
        await this.wait(call, tryNumber, undefined, 0);
        continue;
      }
      const status = response.status;
      const body = response.body === null ? null : Readable.fromWeb(response.body as never);
      if ((status >= 200 && status < 300) || (allowGone && status === 410)) {
        return { status, headers: response.headers, body, release };
      }
      const text = await readText(body).catch(() => '');
      release();
      const graphCode = readGraphErrorCode(text);
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
      const finalTry = tryNumber >= retry.maxTries || (retryAfterMs ?? 0) > retry.maxRetryAfterMs;
      if (!isRetryableStatus(status) || finalTry) {
        const error = toScannerError(status, graphCode, call.scope, call.operation);
        this.options.logger.warn('Graph request failed', {
          operation: call.operation,
          status,
          graphCode: graphCode ?? 'none',
          tries: tryNumber,
          code: error.code,
        });
        throw retryAfterMs === undefined ? error : withRetryAfter(error, retryAfterMs);
      }
      await this.wait(call, tryNumber, retryAfterMs, status);
    }
  }

  /** Closes idle connections. */
  close(): void {
    this.http.close();
  }

  private async attempt(call: GraphCall): Promise<Response> {
    const absolute = /^https?:\/\//i.test(call.path);
    if (absolute && new URL(call.path).origin !== this.origin) {
      // A link from a page must stay on the Graph endpoint, or the token would go elsewhere.
      throw new ScannerError('mailbox-request-failed', 'Graph link points to another host', {
        fields: { operation: call.operation },
      });
    }
    let request = this.client.api(call.path).responseType(ResponseType.RAW);
    if (call.query !== undefined) {
      request = request.query(call.query);
    }
    if (call.headers !== undefined) {
      request = request.headers(call.headers);
    }
    switch (call.method) {
      case 'GET':
        return (await request.get()) as Response;
      case 'POST':
        return (await request.post(call.body ?? {})) as Response;
      case 'PATCH':
        return (await request.patch(call.body ?? {})) as Response;
      case 'DELETE':
        return (await request.delete()) as Response;
    }
  }

  private toTransportFailure(error: unknown, call: GraphCall): ScannerError {
    if (error instanceof ScannerError) {
      return error;
    }
    const name = error instanceof GraphError ? (error.code ?? '') : '';
    const fields = { operation: call.operation, cause: name || 'unknown' };
    // The SDK wraps what its middleware throws in a GraphError named after the original error.
    // Token failures count as permanent: they are mostly configuration (a wrong secret, a missing
    // federated credential), and @azure/identity has already retried network failures itself.
    if (TOKEN_ERROR_NAMES.has(name)) {
      return new ScannerError('mailbox-request-failed', 'Graph token request failed', {
        cause: error,
        fields,
      });
    }
    return new ScannerError('mailbox-unavailable', 'Graph request failed in transport', {
      cause: error,
      fields,
    });
  }

  private async wait(
    call: GraphCall,
    tryNumber: number,
    retryAfterMs: number | undefined,
    status: number,
  ): Promise<void> {
    const delay = computeRetryDelay(tryNumber, retryAfterMs, this.options.retry);
    this.options.logger.debug('Graph request retried', {
      operation: call.operation,
      status,
      tryNumber,
      delayMs: Math.round(delay),
    });
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function withRetryAfter(error: ScannerError, retryAfterMs: number): ScannerError {
  return new ScannerError(error.code, error.message, {
    cause: error.cause,
    fields: { ...error.fields, retryAfterMs },
  });
}

async function readText(body: Readable | null): Promise<string> {
  if (body === null) {
    return '';
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > MAX_GRAPH_JSON_BYTES) {
      body.destroy();
      throw new ScannerError('mailbox-request-failed', 'Graph response is too large', {
        fields: { limitBytes: MAX_GRAPH_JSON_BYTES },
      });
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
