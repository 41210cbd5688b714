import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Cron } from 'croner';

import { settingDefault } from '../config/settings.js';
import { getLocalQueue } from '../queue/local-queues.js';
import type { InProcessQueue } from '../queue/in-process-queue.js';
import { toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import {
  registeredFunctions,
  type ApiRequest,
  type ApiResponse,
  type HandlerContext,
} from './registry.js';
import { compileRoute, matchRoutes } from './route-matcher.js';

/** Options of {@link startLocalHost}. */
export interface LocalHostOptions {
  /** TCP port on 127.0.0.1; 0 lets the OS choose. Default: 7071, as the Functions host. */
  port?: number;
  logger: Logger;
  /** Functions to serve. Default: everything registered so far. */
  functions?: ReturnType<typeof registeredFunctions>;
  /** Run the timers on their schedules. Default: true. */
  runTimers?: boolean;
  /** The in-process queue of a queue name. Default: this process's shared queues. */
  queueFor?: (queueName: string) => InProcessQueue;
}

/** A running local host. */
export interface LocalHost {
  /** Base URL, e.g. `http://127.0.0.1:7071`; routes are under `/api`. */
  url: string;
  port: number;
  /** Stops the timers, detaches the queue consumers and closes the server. */
  close(): Promise<void>;
}

const LOOPBACK_HOST = '127.0.0.1';

/**
 * Serves the registered functions the way the Functions host does, for `npm start` and tests:
 * HTTP routes at /api/<route> with the same route parameters, methods and body limits, timers on
 * their NCRONTAB schedules (six fields, seconds first), and queue consumers on in-process queues.
 * It listens on 127.0.0.1 only and applies no authorization level: function keys do not exist
 * here, and the handlers check their callers themselves.
 */
export async function startLocalHost(options: LocalHostOptions): Promise<LocalHost> {
  const functions = options.functions ?? registeredFunctions();
  const routes = functions.http.map(compileRoute);
  const logger = options.logger;

  const server = createServer((request, response) => {
    void serveRequest(request, response, routes, logger);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 7071, LOOPBACK_HOST, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const timers =
    (options.runTimers ?? true)
      ? functions.timers.flatMap((job) => {
          const schedule = resolveSchedule(job.schedule, process.env);
          if (schedule === undefined) {
            logger.warn('Timer not started: its schedule setting is not set and has no default', { function: job.name });
            return [];
          }
          return [
            new Cron(schedule, { protect: true, name: job.name }, async () => {
              await runLogged(`timer ${job.name}`, logger, (context) => job.handler(context));
            }),
          ];
        })
      : [];
  const queueFor = options.queueFor ?? ((name: string) => getLocalQueue(name));
  const detachers = functions.queues.map((consumer) =>
    queueFor(consumer.queueName).consume((message, delivery) =>
      consumer.handler(message, delivery, createContext(logger)),
    ),
  );
  logger.info('Local host started', {
    url: `http://${LOOPBACK_HOST}:${port}`,
    routes: routes.length,
  });

  return {
    url: `http://${LOOPBACK_HOST}:${port}`,
    port,
    async close() {
      timers.forEach((timer) => timer.stop());
      detachers.forEach((detach) => detach());
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      logger.info('Local host stopped', { port });
    },
  };
}

async function serveRequest(
  request: IncomingMessage,
  response: ServerResponse,
  routes: ReturnType<typeof compileRoute>[],
  logger: Logger,
): Promise<void> {
  const url = new URL(request.url ?? '/', `http://${LOOPBACK_HOST}`);
  const method = (request.method ?? 'GET').toUpperCase();
  const found = url.pathname.startsWith('/api/')
    ? matchRoutes(routes, url.pathname.slice('/api'.length))
    : [];
  const chosen = found.find(({ compiled }) => compiled.route.methods.some((m) => m === method));
  if (chosen === undefined) {
    request.resume();
    const allowed = [...new Set(found.flatMap(({ compiled }) => compiled.route.methods))];
    const answer: ApiResponse =
      found.length === 0
        ? { status: 404, json: { error: 'Not found' } }
        : {
            status: 405,
            headers: { allow: allowed.join(', ') },
            json: { error: 'Method not allowed' },
          };
    send(response, answer);
    return;
  }

  const body = await readBody(request, chosen.compiled.route.maxBodyBytes);
  if (body === undefined) {
    send(response, {
      status: 413,
      headers: { connection: 'close' },
      json: { error: 'request body too large' },
    });
    return;
  }
  const apiRequest: ApiRequest = {
    method,
    url,
    headers: toHeaders(request),
    params: chosen.params,
    body,
  };
  const context = createContext(logger);
  try {
    send(response, await chosen.compiled.route.handler(apiRequest, context));
  } catch (error) {
    logger.error('HTTP function failed', {
      function: chosen.compiled.route.name,
      invocationId: context.invocationId,
      error: toError(error).message,
    });
    send(response, { status: 500, json: { error: 'Internal server error' } });
  }
}

/** Reads the body up to a limit; undefined once it is larger, as declared or as received. */
async function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(request.headers['content-length'] ?? '0');
  if (Number.isFinite(declared) && declared > maxBytes) {
    request.resume();
    return undefined;
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > maxBytes) {
      request.resume();
      return undefined;
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Resolves a `%NAME%` schedule from the environment, as the Functions host resolves it from app
 * settings. An unset mailsweep setting resolves to its documented default, which the deployment
 * template writes as an app setting in Azure. Undefined when neither exists. Other schedules are
 * returned unchanged.
 */
export function resolveSchedule(
  schedule: string,
  env: Record<string, string | undefined>,
): string | undefined {
  const reference = /^%([A-Za-z0-9_]+)%$/.exec(schedule)?.[1];
  if (reference === undefined) {
    return schedule;
  }
  const value = env[reference]?.trim();
  return value === undefined || value === '' ? settingDefault(reference) : value;
}

function toHeaders(request: IncomingMessage): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      headers.append(name, item);
    }
  }
  return headers;
}

function send(response: ServerResponse, answer: ApiResponse): void {
  const headers: Record<string, string> = { ...answer.headers };
  let body: string | Buffer | undefined = answer.body;
  if (answer.json !== undefined) {
    headers['content-type'] ??= 'application/json; charset=utf-8';
    body = JSON.stringify(answer.json);
  }
  response.writeHead(answer.status, headers);
  response.end(body);
}

function createContext(logger: Logger): HandlerContext {
  const invocationId = randomUUID();
  return {
    invocationId,
    log(level, message, fields) {
      const safeFields: Record<string, string | number | boolean | undefined> = { invocationId };
      for (const [key, value] of Object.entries(fields ?? {})) {
        safeFields[key] =
          typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
            ? value
            : JSON.stringify(value);
      }
      logger[level](message, safeFields);
    },
  };
}

async function runLogged(
  name: string,
  logger: Logger,
  run: (context: HandlerContext) => Promise<void>,
): Promise<void> {
  const context = createContext(logger);
  try {
    await run(context);
  } catch (error) {
    logger.error('Function failed', { function: name, error: toError(error).message });
  }
}
