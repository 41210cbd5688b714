import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

import { loadSettings, pickSettingsEnvironment } from '../../src/config/settings.js';
import { RuleSetError } from '../../src/rules/rule-errors.js';
import { createRulesFromSettings } from '../../src/rules/rule-source.js';
import { createScanPool } from '../../src/scanning/scan-pool.js';
import { silentLogger } from '../../src/shared/logger.js';
import { buildMessage } from './rule-fixtures.js';

const junkQuarterly = {
  rules: [
    {
      name: 'Junk quarterly',
      conditions: [{ field: 'subject', operator: 'contains', value: 'quarterly' }],
      actions: [{ type: 'junk' }],
    },
  ],
};

async function writeRules(content: unknown): Promise<string> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'mailsweep-rule-source-'));
  const file = path.join(folder, 'rules.json');
  await writeFile(file, JSON.stringify(content));
  return file;
}

describe('createRulesFromSettings', () => {
  it('returns no hook without a file or storage', async () => {
    assert.equal(await createRulesFromSettings(loadSettings({}), silentLogger), undefined);
  });

  it('loads MAILSWEEP_RULES_PATH', async () => {
    const settings = loadSettings({ MAILSWEEP_RULES_PATH: await writeRules(junkQuarterly) });
    const hook = await createRulesFromSettings(settings, silentLogger);
    assert.ok(hook);
  });

  it('rejects an invalid rules file at start-up', async () => {
    const settings = loadSettings({ MAILSWEEP_RULES_PATH: await writeRules({ rules: [] }) });
    await assert.rejects(createRulesFromSettings(settings, silentLogger), RuleSetError);
  });
});

describe('scan pool with MAILSWEEP_RULES_PATH', () => {
  it('applies the rules in the worker', async () => {
    const env = { MAILSWEEP_RULES_PATH: await writeRules(junkQuarterly) };
    const pool = await createScanPool({
      settings: loadSettings(env),
      env: pickSettingsEnvironment(env),
      size: 1,
      logger: silentLogger,
    });
    try {
      const { verdict } = await pool.scan(buildMessage({ subject: 'Quarterly figures' }));
      assert.equal(verdict.action, 'junk');
      assert.equal(verdict.decidingRule, 'Junk quarterly');
    } finally {
      await pool.close();
    }
  });

  it('fails to start on an invalid rules file', async () => {
    const env = { MAILSWEEP_RULES_PATH: await writeRules({ rules: [{ name: 'x' }] }) };
    await assert.rejects(
      createScanPool({
        settings: loadSettings(env),
        env: pickSettingsEnvironment(env),
        size: 1,
        logger: silentLogger,
      }),
      /rules\[0\]\.conditions/,
    );
  });
});
