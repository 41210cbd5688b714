import pLimit, { type LimitFunction } from 'p-limit';

import { computeRetryDelay, type RetryOptions } from '../graph/retry-policy.js';
import { ScannerError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import { isTransientResponseCode, toScannerError } from './ews-errors.js';
import { EwsHttp, EwsNetworkError, type EwsAuth } from './ews-http.js';
import { splitMimeContent } from './ews-mime.js';
import { buildEnvelope, readSoapResponse, type ResponseMessage } from './ews-soap.js';
import type { XmlNode } from './ews-xml.js';

/** Options for EwsTransport. */
export interface EwsTransportOptions {
  url: URL;
  auth: EwsAuth;
  /** Requests in flight at once to the server. */
  maxConcurrency: number;
  retry: RetryOptions;
  idleTimeoutMs: number;
  maxResponseBytes: number;
  ca?: string;
  logger: Logger;
}

/** One EWS operation as the client describes it. */
export interface EwsCall {
  /** Short operation name for logs and error fields, e.g. `find-item`. */
  operation: string;
  /** Mailbox to impersonate; also sent as X-AnchorMailbox. */
  mailbox?: string;
  /** The operation element, e.g. `{ 'm:FindItem': ... }`. */
  body: XmlNode;
  /** Cut MimeContent's base64 out of the response before parsing (GetItem with MIME). */
  extractMimeContent?: boolean;
}

/** A successful call: the response messages, each still to be checked for its own code. */
export interface EwsResult {
  messages: ResponseMessage[];
  /** MimeContent's base64 text when extractMimeContent was set and the response had one. */
  mimeBase64?: Buffer;
}

/**
 * Sends EWS operations with a per-server concurrency limit, retries and error mapping.
 * ErrorServerBusy waits for its BackOffMilliseconds (or exponential backoff with jitter when
 * absent); network failures, HTTP 5xx without a SOAP fault, HTML answers and truncated SOAP are
 * retried as transient. Every failure ends as a ScannerError.
 */
export class EwsTransport {
  private readonly http: EwsHttp;
  private readonly limit: LimitFunction;

  constructor(private readonly options: EwsTransportOptions) {
    this.http = new EwsHttp({
      url: options.url,
      auth: options.auth,
      maxSockets: options.maxConcurrency,
      idleTimeoutMs: options.idleTimeoutMs,
      maxResponseBytes: options.maxResponseBytes,
      ca: options.ca,
    });
    this.limit = pLimit(options.maxConcurrency);
  }

  /** Requests in flight now, for tests and status. */
  get activeRequests(): number {
    return this.limit.activeCount;
  }

  /**
   * Sends one operation and returns its response messages.
   * @throws ScannerError `mailbox-throttled` when ErrorServerBusy outlasts the tries,
   *   `mailbox-unavailable` when the server stays unreachable or keeps answering HTML or broken
   *   SOAP, and the codes of toScannerError for a SOAP fault.
   */
  async call(call: EwsCall): Promise<EwsResult> {
    const document = buildEnvelope(call.body, call.mailbox);
    const retry = this.options.retry;
    for (let tryNumber = 1; ; tryNumber += 1) {
      const outcome = await this.limit(() => this.attempt(call, document));
      if (outcome.kind === 'done') {
        return outcome.result;
      }
      const error = outcome.error;
      const backOffMs = outcome.backOffMs;
      const tooLong = (backOffMs ?? 0) > retry.maxRetryAfterMs;
      if (!error.transient || tryNumber >= retry.maxTries || tooLong) {
        this.options.logger.warn('EWS request failed', {
          operation: call.operation,
          tries: tryNumber,
          code: error.code,
          ewsCode: error.fields.ewsCode,
        });
        throw backOffMs === undefined ? error : withRetryAfter(error, backOffMs);
      }
      const delay = computeRetryDelay(tryNumber, backOffMs, retry);
      this.options.logger.debug('EWS request retried', {
        operation: call.operation,
        tryNumber,
        code: error.code,
        delayMs: Math.round(delay),
      });
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  /** Closes idle connections; the transport must not be used afterwards. */
  close(): void {
    this.http.close();
  }

  private async attempt(
    call: EwsCall,
    document: string,
  ): Promise<
    | { kind: 'done'; result: EwsResult }
    | { kind: 'failed'; error: ScannerError; backOffMs?: number }
  > {
    const fields = { operation: call.operation };
    let response;
    try {
      response = await this.http.post(document, call.mailbox);
    } catch (error) {
      if (error instanceof ScannerError) {
        return { kind: 'failed', error };
      }
      const network = error instanceof EwsNetworkError ? error : undefined;
      return {
        kind: 'failed',
        error: new ScannerError('mailbox-unavailable', 'EWS request failed in transport', {
          cause: network ?? error,
          fields,
        }),
      };
    }
    const status = response.status;
    if (status === 401 || status === 403) {
      return {
        kind: 'failed',
        error: new ScannerError(
          'mailbox-request-failed',
          'EWS rejected the credentials; check the EWS user name, password and auth kind',
          { fields: { ...fields, status } },
        ),
      };
    }
    const contentType = String(response.headers['content-type'] ?? '').toLowerCase();
    if (!contentType.includes('xml')) {
      // A proxy error page, a forms-based login page or a load balancer's maintenance page.
      return {
        kind: 'failed',
        error: new ScannerError('mailbox-unavailable', 'EWS returned a non-SOAP answer', {
          fields: { ...fields, status, contentType: contentType.slice(0, 60) || 'none' },
        }),
      };
    }
    const split = call.extractMimeContent === true ? splitMimeContent(response.body) : undefined;
    let soap;
    try {
      soap = readSoapResponse((split?.document ?? response.body).toString('utf8'));
    } catch (error) {
      return {
        kind: 'failed',
        error: new ScannerError(
          'mailbox-unavailable',
          'EWS returned a truncated or invalid SOAP body',
          {
            cause: error,
            fields: { ...fields, status },
          },
        ),
      };
    }
    if (soap.kind === 'fault') {
      const error = toScannerError(soap.responseCode, call.operation);
      return { kind: 'failed', error, backOffMs: soap.backOffMs };
    }
    if (status < 200 || status >= 300) {
      return {
        kind: 'failed',
        error: new ScannerError('mailbox-unavailable', 'EWS returned a server error', {
          fields: { ...fields, status },
        }),
      };
    }
    // A response message can carry ErrorServerBusy too; every call sends one item or folder, so
    // the whole call is retried.
    const busy = soap.messages.find((message) => isTransientResponseCode(message.responseCode));
    if (busy !== undefined) {
      return {
        kind: 'failed',
        error: toScannerError(busy.responseCode, call.operation),
        backOffMs: busy.backOffMs,
      };
    }
    const result: EwsResult = { messages: soap.messages };
    if (split?.base64 !== undefined) {
      result.mimeBase64 = split.base64;
    }
    return { kind: 'done', result };
  }
}

function withRetryAfter(error: ScannerError, retryAfterMs: number): ScannerError {
  return new ScannerError(error.code, error.message, {
    cause: error.cause,
    fields: { ...error.fields, retryAfterMs },
  });
}
