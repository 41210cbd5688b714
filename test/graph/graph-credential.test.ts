import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadSettings } from '../../src/config/settings.js';
import { createGraphCredential } from '../../src/graph/graph-credential.js';
import { GraphClient } from '../../src/graph/graph-client.js';
import { ScannerError } from '../../src/shared/errors.js';
import { startGraphSimulator } from '../graph-simulator/graph-simulator.js';
import { createLocalCertificate } from '../graph-simulator/tls.js';

const IDS = { MAILSWEEP_GRAPH_TENANT_ID: 'tenant', MAILSWEEP_GRAPH_CLIENT_ID: 'client' };

describe('createGraphCredential', () => {
  it('picks the client secret first', () => {
    const settings = loadSettings({
      ...IDS,
      MAILSWEEP_GRAPH_CLIENT_SECRET: 's',
      MAILSWEEP_GRAPH_CERTIFICATE_PATH: '/x.pem',
    });
    assert.equal(createGraphCredential(settings.graph).kind, 'client-secret');
  });

  it('picks the certificate without a secret', () => {
    const settings = loadSettings({ ...IDS, MAILSWEEP_GRAPH_CERTIFICATE_PATH: '/x.pem' });
    assert.equal(createGraphCredential(settings.graph).kind, 'certificate');
  });

  it('falls back to a managed identity as federated credential', () => {
    const settings = loadSettings({ ...IDS, MAILSWEEP_GRAPH_MANAGED_IDENTITY_CLIENT_ID: 'mi' });
    assert.equal(createGraphCredential(settings.graph).kind, 'managed-identity-federated');
  });

  it('rejects settings without tenant or client id', () => {
    assert.throws(
      () => createGraphCredential(loadSettings({}).graph),
      (error: unknown) => {
        assert.ok(error instanceof ScannerError);
        assert.equal(error.code, 'config-invalid');
        return true;
      },
    );
  });

  it('defaults the base URL and rejects plain http', () => {
    assert.equal(loadSettings({}).graph.baseUrl, 'https://graph.microsoft.com/v1.0');
    assert.throws(() => loadSettings({ MAILSWEEP_GRAPH_BASE_URL: 'http://graph.example/v1.0' }), {
      code: 'config-invalid',
    });
  });

  it('signs in with a certificate', async () => {
    const sim = await startGraphSimulator();
    const folder = await mkdtemp(join(tmpdir(), 'graph-cert-'));
    try {
      const appCertificate = await createLocalCertificate('rsa');
      const certificatePath = join(folder, 'app.pem');
      await writeFile(certificatePath, `${appCertificate.key}\n${appCertificate.cert}`);
      const settings = loadSettings({
        MAILSWEEP_GRAPH_TENANT_ID: sim.tenantId,
        MAILSWEEP_GRAPH_CLIENT_ID: sim.clientId,
        MAILSWEEP_GRAPH_CERTIFICATE_PATH: certificatePath,
        MAILSWEEP_GRAPH_AUTHORITY_HOST: sim.authorityHost,
      });
      const { kind, credential } = createGraphCredential(settings.graph, { ca: sim.certificate });
      assert.equal(kind, 'certificate');
      const client = new GraphClient({ credential, baseUrl: sim.baseUrl, ca: sim.certificate });
      try {
        assert.deepEqual(await client.listSubscriptions(), []);
      } finally {
        client.close();
      }
      const tokenRequests = sim.requestLog.filter((entry) =>
        entry.path.endsWith('/oauth2/v2.0/token'),
      );
      assert.equal(tokenRequests.length, 1);
    } finally {
      await rm(folder, { recursive: true, force: true });
      await sim.close();
    }
  });
});
