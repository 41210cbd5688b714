import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ApiHandler, ApiResponse } from '../functions-host/registry.js';

/**
 * Serves the web interface's files from one flat folder. Only names found in that folder when
 * it was first read are served, so a path with `..`, a slash, an encoded separator or a NUL byte
 * matches no file and returns 404 before the file system is touched.
 */

/** Content types of the file kinds the web interface ships; other files are not served. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** A file name the folder may contain: lowercase words, one extension, no path. */
export const UI_FILE_NAME = /^[a-z0-9][a-z0-9-]{0,63}\.[a-z]{2,4}$/;

/**
 * Content-Security-Policy of every response. Scripts, styles and images come from this origin
 * only, requests go to this origin only, and no page may frame the interface.
 */
export const UI_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': UI_CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  // The files change with each deployment; revalidating keeps an old script from running.
  'cache-control': 'no-cache',
};

/** The folder shipped with the package: `webui/` at the repository root and in `dist/`. */
export function defaultStaticFolder(): string {
  return fileURLToPath(new URL('../../webui/', import.meta.url));
}

interface StaticFile {
  body: Buffer;
  contentType: string;
}

/**
 * Creates the handler of `GET /api/ui/{*path}`. `/api/ui` redirects to `/api/ui/` so that the
 * page's relative links resolve, and `/api/ui/` serves `index.html`.
 * @param folder Folder of the files; read once, on the first request.
 */
export function createStaticFilesHandler(folder: string = defaultStaticFolder()): ApiHandler {
  let files: Promise<Map<string, StaticFile>> | undefined;

  return async (request) => {
    if (!request.url.pathname.endsWith('/') && request.params.path === undefined) {
      return secured({ status: 308, headers: { location: `${request.url.pathname}/` } });
    }
    files ??= loadFolder(folder).catch((error: unknown) => {
      files = undefined;
      throw error;
    });
    const name = request.params.path ?? 'index.html';
    const file = UI_FILE_NAME.test(name) ? (await files).get(name) : undefined;
    if (file === undefined) {
      return secured({
        status: 404,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: 'Not found',
      });
    }
    return secured({
      status: 200,
      headers: { 'content-type': file.contentType },
      body: file.body,
    });
  };
}

async function loadFolder(folder: string): Promise<Map<string, StaticFile>> {
  const files = new Map<string, StaticFile>();
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const contentType = CONTENT_TYPES[extname(entry.name)];
    if (!entry.isFile() || !UI_FILE_NAME.test(entry.name) || contentType === undefined) {
      continue;
    }
    files.set(entry.name, { body: await readFile(join(folder, entry.name)), contentType });
  }
  return files;
}

function secured(response: ApiResponse): ApiResponse {
  return { ...response, headers: { ...SECURITY_HEADERS, ...response.headers } };
}
