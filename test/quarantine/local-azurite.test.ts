import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { createBlobQuarantineStore } from '../../src/quarantine/blob-quarantine-store.js';
import { startLocalAzurite } from '../../src/quarantine/local-azurite.js';
import type { Verdict } from '../../src/scanning/types.js';
import { silentLogger } from '../../src/shared/logger.js';

/** True while a process with this id exists. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startLocalAzurite', () => {
  const folders: string[] = [];
  after(async () => {
    await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
  });

  it('persists items across a restart', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'mailsweep-local-azurite-'));
    folders.push(folder);
    const location = join(folder, 'azurite');
    const quarantine = { container: 'quarantine', retentionDays: 30 };
    const raw = Buffer.from('Subject: kept\r\n\r\nstill here after a restart\r\n');
    const verdict: Verdict = {
      category: 'malware',
      action: 'quarantine',
      findings: [],
      durationMs: 1,
    };

    const first = await startLocalAzurite({ location, logger: silentLogger });
    assert.match(
      first.connectionString,
      /BlobEndpoint=http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1;/,
    );
    const firstStore = createBlobQuarantineStore({
      settings: { ...quarantine, connectionString: first.connectionString },
      logger: silentLogger,
    });
    const { id } = await firstStore.put(raw, { recipients: [], verdict, source: 'kept.eml' });
    await first.stop();
    assert.equal(isRunning(first.pid), false);

    const second = await startLocalAzurite({ location, logger: silentLogger });
    try {
      const secondStore = createBlobQuarantineStore({
        settings: { ...quarantine, connectionString: second.connectionString },
        logger: silentLogger,
      });
      const content = await secondStore.getContent(id);
      assert.ok(content.equals(raw), 'content differs after restart');
      const listed: string[] = [];
      for await (const metadata of secondStore.list()) {
        listed.push(metadata.id);
      }
      assert.deepEqual(listed, [id]);
    } finally {
      await second.stop();
    }
    assert.equal(isRunning(second.pid), false);
  });

  it('stops more than once without error', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'mailsweep-local-azurite-'));
    folders.push(folder);

    const azurite = await startLocalAzurite({ location: folder, logger: silentLogger });
    assert.equal(isRunning(azurite.pid), true);
    await azurite.stop();
    await azurite.stop();

    assert.equal(isRunning(azurite.pid), false);
  });
});
