import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';

import type { Context, Middleware } from '@microsoft/microsoft-graph-client';

/** Transport settings for NodeHttpHandler. */
export interface NodeHttpOptions {
  /** Milliseconds a connection may stay silent, before or during the body; default 120,000. */
  idleTimeoutMs: number;
  /** Extra trusted CA certificates in PEM, for a private Graph endpoint such as the simulator. */
  ca?: string;
}

/** A request that failed below HTTP: refused, reset, timed out. */
export class GraphTransportError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'GraphTransportError';
  }
}

/**
 * The last middleware of the Graph SDK's chain, in place of its fetch-based handler: it sends the
 * request with node:https so that the client controls the idle timeout and the trusted CAs, and
 * it streams the response body instead of buffering it. `$value` downloads of messages over about
 * 25 MB have been reported to fail under default client timeouts, so the limit is an idle timeout
 * rather than a total one.
 */
export class NodeHttpHandler implements Middleware {
  private readonly agent: Agent;

  constructor(private readonly options: NodeHttpOptions) {
    this.agent = new Agent({ keepAlive: true, ca: options.ca, maxSockets: 64 });
  }

  async execute(context: Context): Promise<void> {
    const url = new URL(
      typeof context.request === 'string' ? context.request : context.request.url,
    );
    const method = context.options?.method ?? 'GET';
    const headers = toHeaderRecord(context.options?.headers);
    const body = context.options?.body;
    context.response = await new Promise<Response>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const outgoing = send(
        url,
        { method, headers, agent: url.protocol === 'https:' ? this.agent : undefined },
        (incoming) => {
          const status = incoming.statusCode ?? 0;
          const noBody = status === 204 || status === 304 || method === 'HEAD';
          if (noBody) {
            incoming.resume();
          }
          const stream = noBody ? null : (Readable.toWeb(incoming) as ReadableStream<Uint8Array>);
          resolve(new Response(stream, { status, headers: fromNodeHeaders(incoming.headers) }));
        },
      );
      outgoing.setTimeout(this.options.idleTimeoutMs, () => {
        outgoing.destroy(new GraphTransportError('Graph connection timed out'));
      });
      outgoing.on('error', (error) => {
        reject(
          error instanceof GraphTransportError
            ? error
            : new GraphTransportError('Graph request failed', { cause: error }),
        );
      });
      if (typeof body === 'string' || body instanceof Uint8Array) {
        outgoing.end(body);
      } else {
        outgoing.end();
      }
    });
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }
}

function toHeaderRecord(headers: unknown): Record<string, string> {
  const record: Record<string, string> = {};
  if (headers instanceof Headers) {
    headers.forEach((value, key) => {
      record[key] = value;
    });
    return record;
  }
  if (headers !== null && typeof headers === 'object') {
    for (const [key, value] of Object.entries(headers)) {
      if (typeof value === 'string') {
        record[key] = value;
      }
    }
  }
  return record;
}

function fromNodeHeaders(headers: IncomingHttpHeaders): Headers {
  const result = new Headers();
  for (const [key, value] of Object.entries(headers)) {
    if (Array.isArray(value)) {
      for (const item of value) {
        result.append(key, item);
      }
    } else if (value !== undefined) {
      result.set(key, value);
    }
  }
  return result;
}
