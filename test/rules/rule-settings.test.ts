import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadSettings } from '../../src/config/settings.js';

describe('rule settings', () => {
  it('has defaults', () => {
    const { rules } = loadSettings({});
    assert.deepEqual(rules, {
      path: undefined,
      container: 'rules',
      maxRules: 2000,
      refreshSeconds: 60,
    });
  });

  it('reads every key', () => {
    const { rules } = loadSettings({
      MAILSWEEP_RULES_PATH: '/etc/mailsweep/rules.json',
      MAILSWEEP_RULES_CONTAINER: 'admin-rules',
      MAILSWEEP_RULES_MAX_COUNT: '500',
      MAILSWEEP_RULES_REFRESH_SECONDS: '15',
    });
    assert.deepEqual(rules, {
      path: '/etc/mailsweep/rules.json',
      container: 'admin-rules',
      maxRules: 500,
      refreshSeconds: 15,
    });
  });

  it('rejects a zero limit and a bad container name', () => {
    assert.throws(
      () => loadSettings({ MAILSWEEP_RULES_MAX_COUNT: '0' }),
      /MAILSWEEP_RULES_MAX_COUNT/,
    );
    assert.throws(
      () => loadSettings({ MAILSWEEP_RULES_CONTAINER: 'Rules_1' }),
      /MAILSWEEP_RULES_CONTAINER/,
    );
  });
});
