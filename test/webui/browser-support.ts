import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';

import { chromium, type Browser } from 'playwright-core';

/** Folder for screenshots and traces; git-ignored. */
export const ARTIFACTS_FOLDER = resolve('test-artifacts', 'webui');

/** Chromium binaries tried in order; MAILSWEEP_CHROMIUM_PATH overrides them. */
const CHROMIUM_PATHS = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

/** Returns the Chromium executable, or undefined when none is installed. */
export function findChromium(env: Record<string, string | undefined> = process.env): string | undefined {
  const candidates = [env.MAILSWEEP_CHROMIUM_PATH, ...CHROMIUM_PATHS].filter(
    (path): path is string => path !== undefined && path !== '',
  );
  return candidates.find((path) => existsSync(path));
}

/** Message shown when the browser tests are skipped. */
export const NO_CHROMIUM_MESSAGE =
  'Chromium not found: install the Debian package (apt-get install chromium) or set ' +
  'MAILSWEEP_CHROMIUM_PATH; the browser tests are skipped';

/** Launches headless Chromium. The sandbox is off because CI runs as root, where it cannot start. */
export async function launchChromium(executablePath: string): Promise<Browser> {
  await mkdir(ARTIFACTS_FOLDER, { recursive: true });
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
}

/** A 127.0.0.1 server that counts every request, standing in for a remote image host. */
export interface CountingServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

/** Starts a {@link CountingServer} on a free port. */
export async function startCountingServer(): Promise<CountingServer> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(request.url ?? '');
    response.writeHead(200, { 'content-type': 'image/gif' });
    response.end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}
