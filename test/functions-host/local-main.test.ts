import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

import { requireAzuriteConnectionString } from '../quarantine/azurite-test-support.js';

const MAIN = fileURLToPath(new URL('../../src/functions-host/local-main.ts', import.meta.url));
const TOKEN = 'local-main-test-token-0123456789abcdef';

describe('npm start entry point', () => {
  let child: ChildProcess;
  let baseUrl: string;

  before(async () => {
    child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0'], {
      env: {
        ...process.env,
        MAILSWEEP_QUARANTINE_CONNECTION_STRING: requireAzuriteConnectionString(),
        MAILSWEEP_AUTH_MODE: 'local-token',
        MAILSWEEP_LOCAL_ADMIN_TOKEN: TOKEN,
        MAILSWEEP_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stderr?.resume();
    let output = '';
    for await (const chunk of child.stdout ?? []) {
      output += String(chunk);
      const match = /functions on (http:\/\/127\.0\.0\.1:\d+)\/api/.exec(output);
      if (match?.[1] !== undefined) {
        baseUrl = match[1];
        break;
      }
    }
    child.stdout?.resume();
    assert.ok(baseUrl, 'the local host did not print its URL');
  });

  after(async () => {
    if (child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('exits with status 1 when its port is taken', async () => {
    const port = new URL(baseUrl).port;
    const second = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', port], {
      env: {
        ...process.env,
        MAILSWEEP_QUARANTINE_CONNECTION_STRING: requireAzuriteConnectionString(),
        MAILSWEEP_LOG_LEVEL: 'error',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let errorOutput = '';
    second.stderr?.on('data', (chunk) => (errorOutput += String(chunk)));
    const [code] = (await once(second, 'exit')) as [number | null];
    assert.equal(code, 1);
    assert.match(errorOutput, /EADDRINUSE/);
  });

  it('answers the Graph validation request', async () => {
    const response = await fetch(`${baseUrl}/api/graph/notifications?validationToken=hello`, {
      method: 'POST',
    });
    assert.equal(response.status, 200);
    assert.equal(await response.text(), 'hello');
  });

  it('serves status to the local admin only', async () => {
    const anonymous = await fetch(`${baseUrl}/api/status`);
    assert.equal(anonymous.status, 401);
    const admin = await fetch(`${baseUrl}/api/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    assert.equal(admin.status, 200);
    const body = (await admin.json()) as { queue: { backlog: number } };
    assert.equal(typeof body.queue.backlog, 'number');
  });

  it('serves the health route', async () => {
    const response = await fetch(`${baseUrl}/api/health`);
    assert.equal(response.status, 200);
  });
});
