import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadSettings } from '../../src/config/settings.js';
import { ScannerError } from '../../src/shared/errors.js';

describe('loadSettings', () => {
  it('applies defaults to an empty environment', () => {
    const settings = loadSettings({});
    assert.equal(settings.limits.maxMimeDepth, 32);
    assert.equal(settings.actions.spam, 'junk');
    assert.equal(settings.actions.malware, 'quarantine');
    assert.equal(settings.quarantine.container, 'quarantine');
    assert.deepEqual(settings.antiphishing.organizationDomains, []);
  });

  for (const value of ['0', '-5', 'ten', '1.5']) {
    it(`rejects limit value ${value} naming the key`, () => {
      assert.throws(
        () => loadSettings({ MAILSWEEP_MAX_MIME_PARTS: value }),
        (error: unknown) =>
          error instanceof ScannerError &&
          error.code === 'config-invalid' &&
          error.message.includes('MAILSWEEP_MAX_MIME_PARTS'),
      );
    });
  }

  it('never echoes a rejected value', () => {
    try {
      loadSettings({ MAILSWEEP_ACTION_SPAM: 'secret-value-123' });
      assert.fail('expected a config-invalid error');
    } catch (error: unknown) {
      assert.ok(error instanceof ScannerError);
      assert.ok(error.message.includes('MAILSWEEP_ACTION_SPAM'));
      assert.ok(!error.message.includes('secret-value-123'));
    }
  });

  it('parses organization domains', () => {
    const settings = loadSettings({ MAILSWEEP_ORG_DOMAINS: ' Contoso.com, fabrikam.example ,' });
    assert.deepEqual(settings.antiphishing.organizationDomains, ['contoso.com', 'fabrikam.example']);
  });

  it('rejects an invalid organization domain', () => {
    assert.throws(() => loadSettings({ MAILSWEEP_ORG_DOMAINS: 'contoso.com/evil' }), ScannerError);
  });

  it('rejects a misspelt key', () => {
    assert.throws(
      () => loadSettings({ MAILSWEEP_MAX_MIME_DEPT: '3' }),
      (error: unknown) => error instanceof ScannerError && error.message.includes('MAILSWEEP_MAX_MIME_DEPT'),
    );
  });

  it('returns frozen settings', () => {
    const settings = loadSettings({});
    assert.ok(Object.isFrozen(settings));
    assert.ok(Object.isFrozen(settings.limits));
  });

  it('ignores keys outside its prefix and empty values', () => {
    const settings = loadSettings({ PATH: '/bin', MAILSWEEP_MAX_MIME_DEPTH: '' });
    assert.equal(settings.limits.maxMimeDepth, 32);
  });
});

describe('loadSettings with Key Vault references', () => {
  const reference = '@Microsoft.KeyVault(VaultName=kv-ms-abc;SecretName=ews-password)';
  const cases = {
    MAILSWEEP_EWS_PASSWORD: reference,
    MAILSWEEP_GRAPH_CLIENT_SECRET: reference,
    MAILSWEEP_EWS_URL: reference,
    MAILSWEEP_MAX_MIME_PARTS: reference,
    MAILSWEEP_EWS_AUTH: reference,
    MAILSWEEP_ONPREM_MAILBOXES: reference,
    MAILSWEEP_ORG_DOMAINS: ` ${reference.toLowerCase()}`,
  };

  for (const [key, value] of Object.entries(cases)) {
    it(`rejects an unresolved reference in ${key}`, () => {
      try {
        loadSettings({ [key]: value });
        assert.fail('expected a config-invalid error');
      } catch (error: unknown) {
        assert.ok(error instanceof ScannerError, String(error));
        assert.equal(error.code, 'config-invalid');
        assert.ok(
          error.message.includes(`${key}: Key Vault reference not resolved`),
          error.message,
        );
        assert.ok(!error.message.includes('SecretName'), 'the reference must not be echoed');
      }
    });
  }

  it('accepts a password that only mentions Key Vault', () => {
    const settings = loadSettings({
      MAILSWEEP_EWS_URL: 'https://mail.contoso.com/EWS/Exchange.asmx',
      MAILSWEEP_EWS_USERNAME: 'svc-mailsweep',
      MAILSWEEP_EWS_PASSWORD: 'x@Microsoft.KeyVault(',
    });
    assert.equal(settings.ews.password, 'x@Microsoft.KeyVault(');
  });
});

describe('loadSettings engines', () => {
  it('defaults to the embedded engines and the retry policy', () => {
    const settings = loadSettings({});
    assert.deepEqual(settings.engines, { antivirus: ['embedded'], antispam: ['embedded'], failure: 'retry' });
    assert.equal(settings.clamd.port, 3310);
    assert.equal(settings.clamd.scan, 'parts');
  });

  it('requires MAILSWEEP_CLAMD_HOST when clamd is chosen', () => {
    assert.throws(
      () => loadSettings({ MAILSWEEP_ENGINES_ANTIVIRUS: 'clamd' }),
      (error: unknown) => error instanceof ScannerError && error.message.includes('MAILSWEEP_CLAMD_HOST'),
    );
  });

  for (const value of ['virustotal', 'embedded,embedded', ',']) {
    it(`rejects antivirus engine list ${value}`, () => {
      assert.throws(() => loadSettings({ MAILSWEEP_ENGINES_ANTIVIRUS: value }), ScannerError);
    });
  }

  it('rejects a port out of range', () => {
    assert.throws(() => loadSettings({ MAILSWEEP_CLAMD_PORT: '70000' }), ScannerError);
  });
});

describe('loadSettings for the real-time functions', () => {
  it('applies the real-time defaults', () => {
    const settings = loadSettings({});
    assert.equal(settings.auth.mode, 'app-service');
    assert.equal(settings.queue.maxDeliveryCount, 10);
    assert.equal(settings.queue.serviceBusNamespace, undefined);
    assert.equal(settings.subscriptions.lifetimeMinutes, 4200);
    assert.equal(settings.subscriptions.renewBeforeMinutes, 1440);
    assert.equal(settings.subscriptions.silentMailboxHours, 24);
  });

  it('reads the Service Bus connection keys', () => {
    const settings = loadSettings({
      MAILSWEEP_SERVICEBUS__fullyQualifiedNamespace: 'contoso.servicebus.windows.net',
    });
    assert.equal(settings.queue.serviceBusNamespace, 'contoso.servicebus.windows.net');
  });

  it('rejects local-token mode without a token', () => {
    assert.throws(
      () => loadSettings({ MAILSWEEP_AUTH_MODE: 'local-token' }),
      (error: unknown) =>
        error instanceof ScannerError && error.message.includes('MAILSWEEP_LOCAL_ADMIN_TOKEN'),
    );
  });

  it('rejects a short local admin token', () => {
    assert.throws(
      () => loadSettings({ MAILSWEEP_AUTH_MODE: 'local-token', MAILSWEEP_LOCAL_ADMIN_TOKEN: 'short' }),
      (error: unknown) => error instanceof ScannerError && !error.message.includes('short'),
    );
  });

  it('reads the local user aliases and the address cache time', () => {
    const settings = loadSettings({
      MAILSWEEP_AUTH_MODE: 'local-token',
      MAILSWEEP_LOCAL_ADMIN_TOKEN: 'a'.repeat(32),
      MAILSWEEP_LOCAL_USER_TOKEN: 'u'.repeat(32),
      MAILSWEEP_LOCAL_USER_ADDRESS: 'Dev@Contoso.com',
      MAILSWEEP_LOCAL_USER_ALIASES: 'Dev.Alias@contoso.com, dev@sales.contoso.com',
      MAILSWEEP_USER_ADDRESS_CACHE_MINUTES: '5',
    });
    assert.deepEqual(settings.auth.localUser?.aliases, ['dev.alias@contoso.com', 'dev@sales.contoso.com']);
    assert.equal(settings.auth.userAddressCacheMinutes, 5);
    assert.equal(loadSettings({}).auth.userAddressCacheMinutes, 15);
  });

  it('rejects local user aliases without a local user', () => {
    assert.throws(
      () => loadSettings({ MAILSWEEP_LOCAL_USER_ALIASES: 'dev.alias@contoso.com' }),
      (error: unknown) =>
        error instanceof ScannerError && error.message.includes('MAILSWEEP_LOCAL_USER_ALIASES'),
    );
  });

  it('rejects an address cache time of zero or over a day', () => {
    for (const value of ['0', '1441']) {
      assert.throws(
        () => loadSettings({ MAILSWEEP_USER_ADDRESS_CACHE_MINUTES: value }),
        (error: unknown) =>
          error instanceof ScannerError && error.message.includes('MAILSWEEP_USER_ADDRESS_CACHE_MINUTES'),
      );
    }
  });

  it('rejects a lifetime past Graph limit', () => {
    assert.throws(
      () => loadSettings({ MAILSWEEP_SUBSCRIPTION_MINUTES: '4231' }),
      (error: unknown) =>
        error instanceof ScannerError && error.message.includes('MAILSWEEP_SUBSCRIPTION_MINUTES'),
    );
  });
});

/** Runs loadSettings and returns its error message, failing when it accepts the environment. */
function rejectionOf(env: Record<string, string>): string {
  try {
    loadSettings(env);
  } catch (error: unknown) {
    assert.ok(error instanceof ScannerError);
    assert.equal(error.code, 'config-invalid');
    return error.message;
  }
  assert.fail(`expected ${Object.keys(env).join(', ')} to be rejected`);
}

describe('loadSettings bounds', () => {
  const tooLarge: [string, string][] = [
    ['MAILSWEEP_SCAN_TIMEOUT_MS', '2147483647'],
    ['MAILSWEEP_SCAN_TIMEOUT_MS', '3600001'],
    ['MAILSWEEP_CLAMD_CONNECT_TIMEOUT_MS', '2147483647'],
    ['MAILSWEEP_CLAMD_READ_TIMEOUT_MS', '2147483647'],
    ['MAILSWEEP_RSPAMD_TIMEOUT_MS', '2147483647'],
    ['MAILSWEEP_QUEUE_RETRY_DELAY_MS', '2147483648'],
    ['MAILSWEEP_QUEUE_MAX_RETRY_DELAY_MS', '2147483648'],
    ['MAILSWEEP_SCAN_JOB_BUDGET_SECONDS', '3601'],
    ['MAILSWEEP_DIGEST_MAX_RUN_SECONDS', '3601'],
    ['MAILSWEEP_RULES_REFRESH_SECONDS', '86401'],
    ['MAILSWEEP_RULES_GROUP_CACHE_MINUTES', '525601'],
    ['MAILSWEEP_ONPREM_CACHE_MINUTES', '9007199254740991'],
    ['MAILSWEEP_SUBSCRIPTION_RENEW_MINUTES', '4231'],
    ['MAILSWEEP_SILENT_MAILBOX_HOURS', '8761'],
    ['MAILSWEEP_CATCH_UP_FULL_SYNC_HOURS', '8761'],
    ['MAILSWEEP_DIGEST_INTERVAL_HOURS', '8761'],
    ['MAILSWEEP_SCAN_WORKERS', '65'],
    ['MAILSWEEP_SCAN_WORKERS', '1000'],
  ];
  for (const [key, value] of tooLarge) {
    it(`rejects ${key}=${value}`, () => {
      const message = rejectionOf({ [key]: value });
      assert.match(message, new RegExp(`${key}: must be at most`));
    });
  }

  it('accepts the maximum of each bound', () => {
    const settings = loadSettings({
      MAILSWEEP_SCAN_TIMEOUT_MS: '3600000',
      MAILSWEEP_SCAN_WORKERS: '64',
      MAILSWEEP_QUEUE_MAX_RETRY_DELAY_MS: '86400000',
    });
    assert.equal(settings.limits.scanTimeoutMs, 3_600_000);
    assert.equal(settings.workers.count, 64);
    assert.equal(settings.queue.maxRetryDelayMs, 86_400_000);
  });

  it('rejects a worker heap too small to start', () => {
    const message = rejectionOf({ MAILSWEEP_WORKER_MAX_HEAP_MB: '40' });
    assert.match(message, /MAILSWEEP_WORKER_MAX_HEAP_MB: must be at least 128 MiB/);
    assert.equal(loadSettings({ MAILSWEEP_WORKER_MAX_HEAP_MB: '128' }).workers.maxHeapMb, 128);
  });

  it('rejects a worker heap past 64 GiB', () => {
    const message = rejectionOf({ MAILSWEEP_WORKER_MAX_HEAP_MB: '99999999' });
    assert.match(message, /MAILSWEEP_WORKER_MAX_HEAP_MB: must be at most 65536 MiB/);
    assert.equal(loadSettings({ MAILSWEEP_WORKER_MAX_HEAP_MB: '65536' }).workers.maxHeapMb, 65_536);
  });

  for (const key of [
    'MAILSWEEP_SCAN_TIMEOUT_MS',
    'MAILSWEEP_SCAN_WORKERS',
    'MAILSWEEP_CLAMD_READ_TIMEOUT_MS',
    'MAILSWEEP_MAX_MESSAGE_BYTES',
    'MAILSWEEP_CLAMD_PORT',
  ]) {
    it(`words a zero ${key} in own terms`, () => {
      const message = rejectionOf({ [key]: '0' });
      assert.equal(message, `Invalid settings: ${key}: must be at least 1`);
    });
  }

  it('rejects a huge number with one message', () => {
    const message = rejectionOf({ MAILSWEEP_MAX_MESSAGE_BYTES: '99999999999999999999' });
    assert.equal(
      message,
      'Invalid settings: MAILSWEEP_MAX_MESSAGE_BYTES: must be at most 9007199254740991',
    );
  });

  it('rejects a huge bounded number with one message', () => {
    const message = rejectionOf({ MAILSWEEP_SCAN_TIMEOUT_MS: '99999999999999999999' });
    assert.doesNotMatch(message, /Too big|expected/);
    assert.equal(message.split('MAILSWEEP_SCAN_TIMEOUT_MS').length, 2);
  });
});

describe('loadSettings schedules and URLs', () => {
  for (const key of ['MAILSWEEP_SCHEDULED_SCAN_CRON', 'MAILSWEEP_DIGEST_CRON']) {
    it(`rejects an out-of-range field in ${key}`, () => {
      const message = rejectionOf({ [key]: '61 * * * * *' });
      assert.match(message, new RegExp(`${key}: is not a valid NCRONTAB expression`));
      assert.match(message, /second/);
    });

    it(`rejects five fields in ${key}`, () => {
      assert.match(rejectionOf({ [key]: '0 2 * * *' }), new RegExp(`${key}: must be an NCRONTAB`));
    });
  }

  it('accepts day names and steps in a schedule', () => {
    const settings = loadSettings({ MAILSWEEP_DIGEST_CRON: '0 */15 8-18 * * MON-FRI' });
    assert.equal(settings.digests.cron, '0 */15 8-18 * * MON-FRI');
  });

  for (const key of ['MAILSWEEP_EWS_URL', 'MAILSWEEP_GRAPH_BASE_URL', 'MAILSWEEP_GRAPH_AUTHORITY_HOST']) {
    it(`says ${key} must be https`, () => {
      const message = rejectionOf({
        [key]: 'http://mail.contoso.example/EWS/Exchange.asmx',
        MAILSWEEP_EWS_AUTH: 'oauth',
      });
      assert.match(message, new RegExp(`${key}: must be an https URL`));
    });
  }

  it('says an http setting must be an http or https URL', () => {
    const message = rejectionOf({ MAILSWEEP_PUBLIC_BASE_URL: 'ftp://contoso.example' });
    assert.match(message, /MAILSWEEP_PUBLIC_BASE_URL: must be an http or https URL/);
  });
});
