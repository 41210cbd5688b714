import type { IncomingMessage, ServerResponse } from 'node:http';

/** Largest request body the simulator reads; Graph's own request limit is 4 MB. */
export const MAX_REQUEST_BODY_BYTES = 4 * 1024 * 1024;

/** Sends a JSON body. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  response.end(text);
}

/** Sends Graph's error envelope: `{ "error": { "code", "message", "innerError" } }`. */
export function sendGraphError(
  response: ServerResponse,
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): void {
  sendJson(
    response,
    status,
    { error: { code, message, innerError: { date: new Date().toISOString(), 'request-id': '0' } } },
    headers,
  );
}

/** Sends a status with no body. */
export function sendEmpty(response: ServerResponse, status: number): void {
  response.writeHead(status, { 'content-length': 0 });
  response.end();
}

/** Reads a request body, up to MAX_REQUEST_BODY_BYTES. */
export async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    total += buffer.length;
    if (total > MAX_REQUEST_BODY_BYTES) {
      throw new Error('request body too large');
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads a JSON request body; undefined when it is not JSON. */
export async function readJson(request: IncomingMessage): Promise<unknown> {
  const body = await readBody(request);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
