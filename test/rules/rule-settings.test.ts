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
      groupCacheMinutes: 60,
      notify: { sender: undefined, admins: [], outboxPath: undefined, maxPerHour: 100 },
    });
  });

  it('reads every key', () => {
    const { rules } = loadSettings({
      MAILSWEEP_RULES_PATH: '/etc/mailsweep/rules.json',
      MAILSWEEP_RULES_CONTAINER: 'admin-rules',
      MAILSWEEP_RULES_MAX_COUNT: '500',
      MAILSWEEP_RULES_REFRESH_SECONDS: '15',
      MAILSWEEP_RULES_GROUP_CACHE_MINUTES: '5',
      MAILSWEEP_NOTIFY_SENDER: 'alerts@contoso.com',
      MAILSWEEP_NOTIFY_ADMINS: 'Admin@contoso.com, sec@contoso.com',
      MAILSWEEP_NOTIFY_OUTBOX_PATH: '/var/mailsweep/outbox',
      MAILSWEEP_NOTIFY_MAX_PER_HOUR: '20',
    });
    assert.deepEqual(rules, {
      path: '/etc/mailsweep/rules.json',
      container: 'admin-rules',
      maxRules: 500,
      refreshSeconds: 15,
      groupCacheMinutes: 5,
      notify: {
        sender: 'alerts@contoso.com',
        admins: ['admin@contoso.com', 'sec@contoso.com'],
        outboxPath: '/var/mailsweep/outbox',
        maxPerHour: 20,
      },
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
    assert.throws(
      () => loadSettings({ MAILSWEEP_NOTIFY_MAX_PER_HOUR: '0' }),
      /MAILSWEEP_NOTIFY_MAX_PER_HOUR/,
    );
    assert.throws(
      () => loadSettings({ MAILSWEEP_NOTIFY_ADMINS: 'admin' }),
      /MAILSWEEP_NOTIFY_ADMINS/,
    );
  });
});
