import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';

import type { ApiHandler, ApiRequest } from '../../src/functions-host/registry.js';
import { compileRoute, matchRoutes } from '../../src/functions-host/route-matcher.js';
import { createStaticFilesHandler } from '../../src/webui/static-files.js';

const context = { invocationId: 'test', log: () => undefined };

describe('createStaticFilesHandler', () => {
  let handler: ApiHandler;
  let folder: string;

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'webui-'));
    await writeFile(join(folder, 'index.html'), '<!doctype html><title>t</title>');
    await writeFile(join(folder, 'app.js'), 'export {};');
    await writeFile(join(folder, 'app.css'), 'body{}');
    await writeFile(join(folder, 'notes.txt'), 'not served');
    await mkdir(join(folder, 'sub'));
    await writeFile(join(folder, 'sub', 'secret.js'), 'nested');
    handler = createStaticFilesHandler(folder);
  });

  /** Routes a path below /api the way the hosts do, then calls the handler. */
  async function get(path: string) {
    const compiled = compileRoute({
      name: 'web-ui',
      methods: ['GET'],
      route: 'ui/{*path}',
      authLevel: 'anonymous',
      maxBodyBytes: 0,
      handler,
    });
    const [match] = matchRoutes([compiled], path);
    if (match === undefined) {
      return undefined;
    }
    const request: ApiRequest = {
      method: 'GET',
      url: new URL(`http://127.0.0.1/api${path}`),
      headers: new Headers(),
      params: match.params,
      body: Buffer.alloc(0),
    };
    return handler(request, context);
  }

  it('serves index.html at the folder root', async () => {
    const response = await get('/ui/');
    assert.equal(response?.status, 200);
    assert.equal(response?.headers?.['content-type'], 'text/html; charset=utf-8');
    assert.match(String(response?.body), /<title>t<\/title>/);
  });

  it('redirects the bare path to the folder', async () => {
    const response = await get('/ui');
    assert.equal(response?.status, 308);
    assert.equal(response?.headers?.location, '/api/ui/');
  });

  it('sends each file with its content type', async () => {
    assert.equal((await get('/ui/app.js'))?.headers?.['content-type'], 'text/javascript; charset=utf-8');
    assert.equal((await get('/ui/app.css'))?.headers?.['content-type'], 'text/css; charset=utf-8');
  });

  it('sets a strict CSP and nosniff on every response', async () => {
    for (const path of ['/ui/', '/ui/app.js', '/ui/missing.js']) {
      const headers = (await get(path))?.headers ?? {};
      assert.match(headers['content-security-policy'] ?? '', /default-src 'none'/, path);
      assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/, path);
      assert.doesNotMatch(headers['content-security-policy'] ?? '', /unsafe-inline|unsafe-eval/, path);
      assert.equal(headers['x-content-type-options'], 'nosniff', path);
    }
  });

  it('rejects traversal, nested and unknown paths', async () => {
    const paths = [
      '/ui/../package.json',
      '/ui/%2e%2e/package.json',
      '/ui/..%2fpackage.json',
      '/ui/sub/secret.js',
      '/ui/sub%2fsecret.js',
      '/ui/app.js%00.css',
      '/ui/notes.txt',
      '/ui/APP.JS',
      '/ui/.env',
    ];
    for (const path of paths) {
      const response = await get(path);
      assert.ok(response === undefined || response.status === 404, `${path}: ${response?.status}`);
    }
  });
});
