import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { TableClient } from '@azure/data-tables';

import { startLocalAzurite } from '../../src/quarantine/local-azurite.js';
import { silentLogger } from '../../src/shared/logger.js';

describe('startLocalAzurite withTables', () => {
  it('serves tables on the connection string', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'mailsweep-local-tables-'));
    const azurite = await startLocalAzurite({
      location: join(folder, 'azurite'),
      logger: silentLogger,
      withTables: true,
    });
    try {
      assert.match(azurite.tableEndpoint ?? '', /^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
      assert.match(azurite.connectionString, /TableEndpoint=/);
      const table = TableClient.fromConnectionString(azurite.connectionString, 'probe', {
        allowInsecureConnection: true,
      });
      await table.createTable();
      await table.createEntity({ partitionKey: 'p', rowKey: 'r', value: 1 });
      const entity = await table.getEntity<{ value: number }>('p', 'r');
      assert.equal(entity.value, 1);
    } finally {
      await azurite.stop();
      await rm(folder, { recursive: true, force: true });
    }
  });
});
