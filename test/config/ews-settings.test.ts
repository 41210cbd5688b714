import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadSettings } from '../../src/config/settings.js';
import { createEwsClient } from '../../src/ews/create-ews-client.js';
import { ScannerError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/logger.js';

describe('loadSettings EWS and hybrid keys', () => {
  it('applies EWS defaults', () => {
    const settings = loadSettings({});
    assert.equal(settings.ews.url, undefined);
    assert.equal(settings.ews.auth, 'ntlm');
    assert.equal(settings.ews.maxConcurrency, 10);
    assert.equal(settings.ews.maxTries, 6);
    assert.deepEqual(settings.hybrid.onPremMailboxes, []);
    assert.equal(settings.hybrid.cacheMinutes, 1440);
    assert.equal(createEwsClient(settings, silentLogger), undefined);
  });

  it('reads the push StatusFrequency', () => {
    assert.equal(loadSettings({}).ews.pushStatusFrequencyMinutes, 5);
    const settings = loadSettings({ MAILSWEEP_EWS_PUSH_STATUS_FREQUENCY_MINUTES: '1440' });
    assert.equal(settings.ews.pushStatusFrequencyMinutes, 1440);
  });

  for (const value of ['0', '1441', '-1', '2.5', 'five']) {
    it(`rejects push StatusFrequency ${value}`, () => {
      assert.throws(
        () => loadSettings({ MAILSWEEP_EWS_PUSH_STATUS_FREQUENCY_MINUTES: value }),
        (error: unknown) =>
          error instanceof ScannerError &&
          error.message.includes('MAILSWEEP_EWS_PUSH_STATUS_FREQUENCY_MINUTES'),
      );
    });
  }

  it('parses on-premises mailboxes and domains', () => {
    const settings = loadSettings({
      MAILSWEEP_ONPREM_MAILBOXES: ' Adele@Contoso.com , ,bob@contoso.com',
      MAILSWEEP_ONPREM_DOMAINS: 'OnPrem.Contoso.com',
    });
    assert.deepEqual(settings.hybrid.onPremMailboxes, ['adele@contoso.com', 'bob@contoso.com']);
    assert.deepEqual(settings.hybrid.onPremDomains, ['onprem.contoso.com']);
  });

  it('rejects an on-premises entry that is not an address', () => {
    assert.throws(
      () => loadSettings({ MAILSWEEP_ONPREM_MAILBOXES: 'adele' }),
      (error: unknown) =>
        error instanceof ScannerError && error.message.includes('MAILSWEEP_ONPREM_MAILBOXES'),
    );
  });

  it('requires credentials for NTLM', () => {
    assert.throws(
      () => loadSettings({ MAILSWEEP_EWS_URL: 'https://mail.contoso.com/EWS/Exchange.asmx' }),
      (error: unknown) =>
        error instanceof ScannerError &&
        error.message.includes('MAILSWEEP_EWS_USERNAME') &&
        error.message.includes('MAILSWEEP_EWS_PASSWORD'),
    );
  });

  it('rejects an http EWS URL', () => {
    assert.throws(
      () =>
        loadSettings({
          MAILSWEEP_EWS_URL: 'http://mail.contoso.com/EWS/Exchange.asmx',
          MAILSWEEP_EWS_USERNAME: 'svc',
          MAILSWEEP_EWS_PASSWORD: 'secret-value',
        }),
      (error: unknown) =>
        error instanceof ScannerError && error.message.includes('MAILSWEEP_EWS_URL'),
    );
  });

  it('rejects a zero concurrency', () => {
    assert.throws(
      () => loadSettings({ MAILSWEEP_EWS_MAX_CONCURRENCY: '0' }),
      (error: unknown) =>
        error instanceof ScannerError && error.message.includes('MAILSWEEP_EWS_MAX_CONCURRENCY'),
    );
  });

  it('builds an NTLM client from settings', () => {
    const settings = loadSettings({
      MAILSWEEP_EWS_URL: 'https://mail.contoso.com/EWS/Exchange.asmx',
      MAILSWEEP_EWS_USERNAME: 'svc',
      MAILSWEEP_EWS_PASSWORD: 'secret-value',
      MAILSWEEP_EWS_DOMAIN: 'CONTOSO',
    });
    const client = createEwsClient(settings, silentLogger);
    assert.ok(client);
    client.close();
  });
});
