import { app, type HttpRequest, type InvocationContext } from '@azure/functions';

/**
 * One registry for every function mailsweep runs. Each functions/*.ts file registers its handlers
 * here. The registry passes them to the Azure Functions host (through @azure/functions) and also
 * keeps them, so the local host (`npm start`) and the tests call the same handlers.
 *
 * Handlers see plain requests, not the host's types, so that they can be called without a host.
 */

/** An HTTP request as passed to a handler. The body is already read, up to the route's limit. */
export interface ApiRequest {
  method: string;
  url: URL;
  headers: Headers;
  /** Route parameters, from `{name}` segments of the route. */
  params: Readonly<Record<string, string>>;
  body: Buffer;
}

/** A handler's response. `json` is serialised with content type application/json. */
export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  json?: unknown;
}

/** Invocation details passed to every handler besides its input. */
export interface HandlerContext {
  invocationId: string;
  /** Structured log sink; never pass secrets, tokens or message content. */
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void;
}

export type ApiHandler = (request: ApiRequest, context: HandlerContext) => Promise<ApiResponse>;

export interface HttpRoute {
  name: string;
  /** HEAD is served only where listed. The local host's HTTP server sends no body for it. */
  methods: ('GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE')[];
  /** Route below /api, with `{name}` parameters, as the Functions host writes it. */
  route: string;
  /** `anonymous` for Graph's webhooks; the others are checked by the host's key or App Service auth. */
  authLevel: 'anonymous' | 'function' | 'admin';
  /** Larger bodies are refused with 413 before the handler runs. */
  maxBodyBytes: number;
  handler: ApiHandler;
}

export interface TimerJob {
  name: string;
  /** NCRONTAB with seconds, as the Functions host reads it. */
  schedule: string;
  handler: (context: HandlerContext) => Promise<void>;
}

/** Delivery facts a queue consumer needs to decide between retry and dead-letter. */
export interface QueueDelivery {
  /** 1 for the first delivery. */
  deliveryCount: number;
  messageId?: string;
}

export interface QueueConsumer {
  name: string;
  queueName: string;
  /** Throwing returns the message to the queue; the queue dead-letters it after its last try. */
  handler: (message: unknown, delivery: QueueDelivery, context: HandlerContext) => Promise<void>;
}

const httpRoutes: HttpRoute[] = [];
const timerJobs: TimerJob[] = [];
const queueConsumers: QueueConsumer[] = [];

/** App setting naming the Service Bus namespace (identity-based connection prefix). */
export const SERVICE_BUS_CONNECTION = 'MAILSWEEP_SERVICEBUS';

/** Registers an HTTP function with the host and in the registry. */
export function registerHttp(route: HttpRoute): void {
  httpRoutes.push(route);
  app.http(route.name, {
    methods: route.methods,
    route: route.route,
    authLevel: route.authLevel,
    handler: async (request, invocation) => toHostResponse(await runHttp(route, request, invocation)),
  });
}

/** Registers a timer function with the host and in the registry. */
export function registerTimer(job: TimerJob): void {
  timerJobs.push(job);
  app.timer(job.name, {
    schedule: job.schedule,
    handler: async (_timer, invocation) => job.handler(hostContext(invocation)),
  });
}

/** Registers a Service Bus queue consumer with the host and in the registry. */
export function registerQueueConsumer(consumer: QueueConsumer): void {
  queueConsumers.push(consumer);
  app.serviceBusQueue(consumer.name, {
    connection: SERVICE_BUS_CONNECTION,
    queueName: consumer.queueName,
    handler: async (message, invocation) => {
      const metadata = invocation.triggerMetadata ?? {};
      const deliveryCount = Number(metadata.deliveryCount ?? 1);
      const messageId = typeof metadata.messageId === 'string' ? metadata.messageId : undefined;
      await consumer.handler(message, { deliveryCount, messageId }, hostContext(invocation));
    },
  });
}

/** Everything registered so far, for the local host and the tests. */
export function registeredFunctions(): {
  http: readonly HttpRoute[];
  timers: readonly TimerJob[];
  queues: readonly QueueConsumer[];
} {
  return { http: httpRoutes, timers: timerJobs, queues: queueConsumers };
}

async function runHttp(route: HttpRoute, request: HttpRequest, invocation: InvocationContext): Promise<ApiResponse> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  if (Number.isFinite(declared) && declared > route.maxBodyBytes) {
    return { status: 413, json: { error: 'request body too large' } };
  }
  const body = Buffer.from(await request.arrayBuffer());
  if (body.length > route.maxBodyBytes) {
    return { status: 413, json: { error: 'request body too large' } };
  }
  return route.handler(
    {
      method: request.method,
      url: new URL(request.url),
      headers: new Headers(Object.fromEntries(request.headers.entries())),
      params: { ...request.params },
      body,
    },
    hostContext(invocation),
  );
}

function toHostResponse(response: ApiResponse): { status: number; headers?: Record<string, string>; body?: string | Uint8Array } {
  if (response.json !== undefined) {
    return {
      status: response.status,
      headers: { 'content-type': 'application/json; charset=utf-8', ...response.headers },
      body: JSON.stringify(response.json),
    };
  }
  return { status: response.status, headers: response.headers, body: response.body };
}

function hostContext(invocation: InvocationContext): HandlerContext {
  return {
    invocationId: invocation.invocationId,
    log(level, message, fields) {
      const line = fields ? `${message} ${JSON.stringify(fields)}` : message;
      if (level === 'error') invocation.error(line);
      else if (level === 'warn') invocation.warn(line);
      else if (level === 'debug') invocation.debug(line);
      else invocation.info(line);
    },
  };
}
