import { EwsClient, type EwsClientOptions } from '../../src/ews/ews-client.js';
import type { EwsAuth } from '../../src/ews/ews-http.js';
import {
  startEwsSimulator,
  type EwsSimulator,
  type EwsSimulatorOptions,
} from '../ews-simulator/ews-simulator.js';

/** The service account every test signs in as. */
export const SERVICE_USER = 'svc-mailsweep';
export const SERVICE_PASSWORD = 'Correct-Horse-Battery-9';

/** Fast retries, so that fault tests do not wait for production backoff. */
export const FAST_RETRY = { maxTries: 4, baseDelayMs: 5, maxDelayMs: 40, maxRetryAfterMs: 5_000 };

/** Starts a simulator whose service account may impersonate every mailbox. */
export async function startSimulator(options: EwsSimulatorOptions = {}): Promise<EwsSimulator> {
  return startEwsSimulator({
    accounts: [{ user: SERVICE_USER, password: SERVICE_PASSWORD, impersonate: 'all' }],
    ...options,
  });
}

/** Creates a client for the simulator, with Basic auth unless `authKind` is `ntlm`. */
export function clientFor(
  simulator: EwsSimulator,
  options: Partial<EwsClientOptions> & { authKind?: 'basic' | 'ntlm' } = {},
): EwsClient {
  const auth: EwsAuth =
    options.authKind === 'ntlm'
      ? { kind: 'ntlm', username: SERVICE_USER, password: SERVICE_PASSWORD, domain: 'CONTOSO' }
      : { kind: 'basic', username: SERVICE_USER, password: SERVICE_PASSWORD };
  return new EwsClient({
    url: simulator.url,
    ca: simulator.ca,
    auth,
    retry: FAST_RETRY,
    ...options,
  });
}

/** Returns a small RFC 5322 message. */
export function sampleMime(subject: string, body = 'Hello.\r\n'): Buffer {
  return Buffer.from(
    `From: a@example.org\r\nTo: b@example.org\r\nSubject: ${subject}\r\n` +
      `Message-ID: <${subject.replace(/\W/g, '')}@example.org>\r\nMIME-Version: 1.0\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n\r\n${body}`,
  );
}

/** Reads a stream to one buffer. */
export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Collects an async iterable into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const list: T[] = [];
  for await (const item of items) {
    list.push(item);
  }
  return list;
}
