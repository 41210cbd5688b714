import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { loadSettings } from '../../src/config/settings.js';
import { createEwsClient } from '../../src/ews/create-ews-client.js';
import { ScannerError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/logger.js';
import type { EwsSimulator } from '../ews-simulator/ews-simulator.js';
import { sampleMime, SERVICE_PASSWORD, SERVICE_USER, startSimulator } from './ews-test-support.js';

// The simulator's certificate is self-signed, like one from an internal PKI that Node's public
// CAs do not include.
describe('MAILSWEEP_EWS_CA_CERTIFICATES', () => {
  const address = 'ca@contoso.com';
  let simulator: EwsSimulator;

  before(async () => {
    simulator = await startSimulator();
    simulator.addMailbox(address);
  });

  after(async () => {
    await simulator.close();
  });

  function clientWith(extra: Record<string, string>) {
    const settings = loadSettings({
      MAILSWEEP_EWS_URL: simulator.url,
      MAILSWEEP_EWS_AUTH: 'basic',
      MAILSWEEP_EWS_USERNAME: SERVICE_USER,
      MAILSWEEP_EWS_PASSWORD: SERVICE_PASSWORD,
      MAILSWEEP_EWS_MAX_TRIES: '1',
      ...extra,
    });
    const client = createEwsClient(settings, silentLogger);
    assert.ok(client);
    return client;
  }

  it('trusts the configured CA', async () => {
    const item = simulator.deliverMessage(address, { mime: sampleMime('trusted') });
    const client = clientWith({ MAILSWEEP_EWS_CA_CERTIFICATES: simulator.ca });
    try {
      const message = await client.getMessage(address, item.id);
      assert.equal(message.id, item.id);
    } finally {
      client.close();
    }
  });

  it('rejects the server without it', async () => {
    const item = simulator.deliverMessage(address, { mime: sampleMime('untrusted') });
    const client = clientWith({});
    try {
      await assert.rejects(
        client.getMessage(address, item.id),
        (error: unknown) => error instanceof ScannerError && error.code === 'mailbox-unavailable',
      );
    } finally {
      client.close();
    }
  });

  for (const value of ['not a certificate', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----']) {
    it(`rejects invalid PEM ${JSON.stringify(value.slice(0, 12))}`, () => {
      assert.throws(
        () => loadSettings({ MAILSWEEP_EWS_CA_CERTIFICATES: value }),
        (error: unknown) =>
          error instanceof ScannerError &&
          error.code === 'config-invalid' &&
          error.message.includes('MAILSWEEP_EWS_CA_CERTIFICATES'),
      );
    });
  }
});
