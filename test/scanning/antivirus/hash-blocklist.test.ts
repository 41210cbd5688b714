import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { loadHashBlocklist, parseHashBlocklist } from '../../../src/scanning/antivirus/index.js';
import { ScannerError } from '../../../src/shared/errors.js';

const DIGEST_A = 'a'.repeat(64);
const DIGEST_B = '0123456789abcdef'.repeat(4);

let directory: string;

before(async () => {
  directory = await mkdtemp(join(tmpdir(), 'mailsweep-blocklist-'));
});

after(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function writeList(name: string, text: string): Promise<string> {
  const path = join(directory, name);
  await writeFile(path, text, 'utf8');
  return path;
}

describe('loadHashBlocklist', () => {
  it('reads digests with comments, blank lines and trailing text', async () => {
    const path = await writeList(
      'good.txt',
      [
        '\uFEFF# sample blocklist',
        '',
        `${DIGEST_A}`,
        `  ${DIGEST_B.toUpperCase()}\tTrojan.Example  `,
        '',
      ].join('\r\n'),
    );
    assert.deepEqual(await loadHashBlocklist(path), new Set([DIGEST_A, DIGEST_B]));
  });

  it('names the line number of an invalid line without its content', async () => {
    const secret = 'not-a-digest-but-secret';
    const path = await writeList('bad.txt', `# header\n${DIGEST_A}\n${secret}\n`);
    await assert.rejects(loadHashBlocklist(path), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'config-invalid');
      assert.match(error.message, /line 3\b/);
      assert.ok(!error.message.includes(secret));
      assert.equal(error.fields.line, 3);
      return true;
    });
  });

  it('rejects a digest of the wrong length', () => {
    assert.throws(() => parseHashBlocklist(`${DIGEST_A}0\n`), /line 1\b/);
    assert.throws(() => parseHashBlocklist('abc\n'), /line 1\b/);
  });

  it('reports a missing file as invalid configuration', async () => {
    await assert.rejects(loadHashBlocklist(join(directory, 'missing.txt')), (error: unknown) => {
      assert.ok(error instanceof ScannerError);
      assert.equal(error.code, 'config-invalid');
      return true;
    });
  });

  it('returns an empty set for a file of comments', async () => {
    const path = await writeList('empty.txt', '# nothing yet\n\n');
    assert.equal((await loadHashBlocklist(path)).size, 0);
  });
});
