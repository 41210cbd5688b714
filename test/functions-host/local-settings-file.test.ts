import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import { applyLocalSettingsFile } from '../../src/functions-host/local-settings-file.js';

async function settingsFile(content: string): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'mailsweep-local-settings-'));
  const file = path.join(folder, 'local.settings.json');
  await writeFile(file, content);
  return file;
}

describe('applyLocalSettingsFile', () => {
  it('copies Values into the environment without overriding what is set', async () => {
    const file = await settingsFile(
      JSON.stringify({ IsEncrypted: false, Values: { MAILSWEEP_AUTH_MODE: 'local-token', MAILSWEEP_LOG_LEVEL: 'debug', PORT: 7080 } }),
    );
    const env: NodeJS.ProcessEnv = { MAILSWEEP_LOG_LEVEL: 'error' };
    applyLocalSettingsFile(file, env);
    assert.deepEqual(env, { MAILSWEEP_LOG_LEVEL: 'error', MAILSWEEP_AUTH_MODE: 'local-token', PORT: '7080' });
  });

  it('does nothing without the file', () => {
    const env: NodeJS.ProcessEnv = {};
    applyLocalSettingsFile(path.join(os.tmpdir(), 'no-such-folder', 'local.settings.json'), env);
    assert.deepEqual(env, {});
  });

  it('names the file when it is not valid', async () => {
    const broken = await settingsFile('{ "Values": ');
    assert.throws(() => applyLocalSettingsFile(broken, {}), /local\.settings\.json is not valid JSON/);
    const wrongShape = await settingsFile('{ "Values": ["x"] }');
    assert.throws(() => applyLocalSettingsFile(wrongShape, {}), /"Values" object of strings/);
  });
});
