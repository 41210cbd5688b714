import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';

import type { TokenCredential } from '@azure/identity';
import { createType1Message, createType3Message, parseType2Message } from 'httpntlm/ntlm.js';

import { ScannerError } from '../shared/errors.js';

/** How the client signs in to EWS. */
export type EwsAuth =
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'ntlm'; username: string; password: string; domain?: string; workstation?: string }
  | {
      kind: 'oauth';
      credential: TokenCredential;
      /** Token scope; default `<EWS origin>/.default`. */
      scope?: string;
    };

/** A response read in full. */
export interface EwsHttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Options for EwsHttp. */
export interface EwsHttpOptions {
  url: URL;
  auth: EwsAuth;
  /** Sockets kept for Basic and OAuth requests. */
  maxSockets: number;
  /** Milliseconds a connection may stay silent, also mid-body. */
  idleTimeoutMs: number;
  /** Largest response body read, in bytes; a longer one fails permanently. */
  maxResponseBytes: number;
  /** Extra trusted CA in PEM, for a private server such as the test simulator. */
  ca?: string;
}

/** A request that failed below HTTP: refused, reset, timed out. */
export class EwsNetworkError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'EwsNetworkError';
  }
}

/**
 * Posts SOAP documents to one EWS endpoint with Basic, NTLM or OAuth bearer authentication.
 * NTLM authenticates a connection, not a request, so each NTLM request runs the negotiate,
 * challenge and authenticate round trip on a socket of its own.
 */
export class EwsHttp {
  private readonly agent: Agent;

  constructor(private readonly options: EwsHttpOptions) {
    this.agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets, ca: options.ca });
  }

  /**
   * Posts one SOAP document and reads the whole response.
   * @throws EwsNetworkError when the connection fails or stays silent too long.
   * @throws ScannerError `mailbox-request-failed` when the response is too large, the token
   *   request fails, or the server does not offer NTLM when NTLM is configured.
   */
  async post(document: string, anchorMailbox: string | undefined): Promise<EwsHttpResponse> {
    const headers: Record<string, string> = {
      'content-type': 'text/xml; charset=utf-8',
      accept: 'text/xml',
    };
    // X-AnchorMailbox routes the request to the server holding the impersonated mailbox.
    if (anchorMailbox !== undefined) {
      headers['x-anchormailbox'] = anchorMailbox;
    }
    const body = Buffer.from(document, 'utf8');
    const auth = this.options.auth;
    if (auth.kind === 'basic') {
      const token = Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64');
      headers.authorization = `Basic ${token}`;
      return this.send(this.agent, headers, body);
    }
    if (auth.kind === 'oauth') {
      headers.authorization = `Bearer ${await this.getToken(auth)}`;
      return this.send(this.agent, headers, body);
    }
    return this.postWithNtlm(auth, headers, body);
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private async postWithNtlm(
    auth: Extract<EwsAuth, { kind: 'ntlm' }>,
    headers: Record<string, string>,
    body: Buffer,
  ): Promise<EwsHttpResponse> {
    const account = {
      username: auth.username,
      password: auth.password,
      domain: auth.domain ?? '',
      workstation: auth.workstation ?? '',
    };
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: this.options.ca });
    try {
      const negotiate = await this.send(
        agent,
        { ...headers, authorization: createType1Message({ ...account }) },
        Buffer.alloc(0),
      );
      const challenge = readNtlmChallenge(negotiate);
      if (challenge === undefined) {
        throw new ScannerError(
          'mailbox-request-failed',
          'EWS server did not answer the NTLM negotiate message with a challenge',
          { fields: { status: negotiate.status } },
        );
      }
      let parseFailure: Error | undefined;
      const type2 = parseType2Message(challenge, (error) => {
        parseFailure = error;
      });
      if (type2 === null || parseFailure !== undefined) {
        throw new ScannerError(
          'mailbox-request-failed',
          'EWS server sent an invalid NTLM challenge',
          {
            cause: parseFailure,
          },
        );
      }
      const authenticate = createType3Message(type2, { ...account });
      return await this.send(agent, { ...headers, authorization: authenticate }, body);
    } finally {
      agent.destroy();
    }
  }

  private async getToken(auth: Extract<EwsAuth, { kind: 'oauth' }>): Promise<string> {
    const scope = auth.scope ?? `${this.options.url.origin}/.default`;
    try {
      const token = await auth.credential.getToken(scope);
      if (token === null) {
        throw new Error('credential returned no token');
      }
      return token.token;
    } catch (error) {
      throw new ScannerError('mailbox-request-failed', 'EWS token request failed', {
        cause: error,
        fields: { scope },
      });
    }
  }

  private send(
    agent: Agent,
    headers: Record<string, string>,
    body: Buffer,
  ): Promise<EwsHttpResponse> {
    const url = this.options.url;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<EwsHttpResponse>((resolve, reject) => {
      const outgoing = send(
        url,
        {
          method: 'POST',
          headers: { ...headers, 'content-length': String(body.length) },
          agent: url.protocol === 'https:' ? agent : undefined,
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          let total = 0;
          incoming.on('data', (chunk: Buffer) => {
            total += chunk.length;
            if (total > this.options.maxResponseBytes) {
              incoming.destroy();
              outgoing.destroy();
              reject(
                new ScannerError('mailbox-request-failed', 'EWS response is too large', {
                  fields: { limitBytes: this.options.maxResponseBytes },
                }),
              );
              return;
            }
            chunks.push(chunk);
          });
          incoming.on('error', (error) => {
            reject(new EwsNetworkError('EWS response broke off', { cause: error }));
          });
          incoming.on('aborted', () => {
            reject(new EwsNetworkError('EWS response broke off'));
          });
          incoming.on('end', () => {
            resolve({
              status: incoming.statusCode ?? 0,
              headers: incoming.headers,
              body: Buffer.concat(chunks, total),
            });
          });
        },
      );
      outgoing.setTimeout(this.options.idleTimeoutMs, () => {
        outgoing.destroy(new EwsNetworkError('EWS connection timed out'));
      });
      outgoing.on('error', (error) => {
        reject(
          error instanceof EwsNetworkError
            ? error
            : new EwsNetworkError('EWS request failed', { cause: error }),
        );
      });
      outgoing.end(body);
    });
  }
}

function readNtlmChallenge(response: EwsHttpResponse): string | undefined {
  if (response.status !== 401) {
    return undefined;
  }
  const header = response.headers['www-authenticate'];
  const values = Array.isArray(header) ? header : header === undefined ? [] : [header];
  return values.find((value) => /^NTLM [A-Za-z0-9+/=]+$/.test(value.trim()))?.trim();
}
