import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the test webhook answers Graph's validation request. */
export type ValidationBehaviour = 'echo' | 'html' | 'wrong-token' | 'silent';

/** A subscriber endpoint on 127.0.0.1 that records what Graph posts to it. */
export interface WebhookTestServer {
  notificationUrl: string;
  lifecycleUrl: string;
  /** Validation tokens received, decoded. */
  validationTokens: string[];
  /** Bodies of change notifications received. */
  notifications: unknown[];
  /** Bodies of lifecycle notifications received. */
  lifecycle: unknown[];
  behaviour: ValidationBehaviour;
  close(): Promise<void>;
}

/** Starts the test webhook. It stands in for the notification endpoints other modules provide. */
export async function startWebhookTestServer(): Promise<WebhookTestServer> {
  const state = {
    validationTokens: [] as string[],
    notifications: [] as unknown[],
    lifecycle: [] as unknown[],
    behaviour: 'echo' as ValidationBehaviour,
  };
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const token = url.searchParams.get('validationToken');
      if (token !== null) {
        state.validationTokens.push(token);
        answerValidation(state.behaviour, token, response);
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
      (url.pathname === '/lifecycle' ? state.lifecycle : state.notifications).push(body);
      response.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    notificationUrl: `http://127.0.0.1:${port}/notifications`,
    lifecycleUrl: `http://127.0.0.1:${port}/lifecycle`,
    get validationTokens() {
      return state.validationTokens;
    },
    get notifications() {
      return state.notifications;
    },
    get lifecycle() {
      return state.lifecycle;
    },
    get behaviour() {
      return state.behaviour;
    },
    set behaviour(value: ValidationBehaviour) {
      state.behaviour = value;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function answerValidation(
  behaviour: ValidationBehaviour,
  token: string,
  response: import('node:http').ServerResponse,
): void {
  switch (behaviour) {
    case 'echo':
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(token);
      return;
    case 'html':
      response.writeHead(200, { 'content-type': 'text/html' }).end(token);
      return;
    case 'wrong-token':
      response.writeHead(200, { 'content-type': 'text/plain' }).end('something else');
      return;
    case 'silent':
      // Never answers, like a Function app still starting up.
      return;
  }
}
