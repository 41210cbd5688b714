import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { scanPaths, type ReportLine, type ScanPathsOptions } from '../../src/cli/scan-run.js';
import { createInProcessScanner, type MessageScanner } from '../../src/scanning/message-scanner.js';
import { ScannerError } from '../../src/shared/errors.js';
import { silentLogger } from '../../src/shared/logger.js';
import { createTestPipeline } from '../helpers/pipeline.js';
import { createRulesPipeline } from '../rules/rule-fixtures.js';

const MESSAGE = 'From: a@fabrikam.example\nTo: b@contoso.com\nSubject: hello\n\nhello\n';

describe('scanPaths', () => {
  let folder: string;
  let scanner: MessageScanner;
  /** Worker counts that scanPaths asked for, one per scanner it opened. */
  let requestedWorkers: number[];

  before(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), 'mailsweep-scan-run-'));
    scanner = createInProcessScanner(await createTestPipeline());
  });

  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function scan(
    inputs: string[],
    overrides: Partial<ScanPathsOptions> = {},
  ): Promise<{ lines: ReportLine[]; summary: Awaited<ReturnType<typeof scanPaths>> }> {
    requestedWorkers = [];
    const reportPath = path.join(folder, `report-${Math.random().toString(36).slice(2)}.jsonl`);
    const summary = await scanPaths({
      inputs,
      openScanner: (workers) => {
        requestedWorkers.push(workers);
        return Promise.resolve(scanner);
      },
      maxWorkers: 8,
      concurrency: 32,
      reportPath,
      maxFileBytes: 1024 * 1024,
      logger: silentLogger,
      ...overrides,
    });
    const text = (await readFile(reportPath, 'utf8')).trim();
    const lines = text === '' ? [] : text.split('\n').map((line) => JSON.parse(line) as ReportLine);
    return { lines, summary };
  }

  it('starts one worker for one message', async () => {
    const file = path.join(folder, 'one.eml');
    await writeFile(file, MESSAGE);
    await scan([file]);
    assert.deepEqual(requestedWorkers, [1]);
  });

  it('starts at most the maximum of workers', async () => {
    const many = path.join(folder, 'many');
    await mkdir(many);
    for (let index = 0; index < 12; index++) {
      await writeFile(path.join(many, `${index}.eml`), MESSAGE);
    }
    const { summary } = await scan([many]);
    assert.deepEqual(requestedWorkers, [8]);
    assert.equal(summary.scanned, 12);
  });

  it('reads an empty mbox file as no messages and starts no worker', async () => {
    const file = path.join(folder, 'empty.mbox');
    await writeFile(file, '');
    const { lines, summary } = await scan([file]);
    assert.deepEqual(lines, []);
    assert.equal(summary.errors, 0);
    assert.deepEqual(requestedWorkers, []);
  });

  it('keeps an empty .eml file as one unscannable message', async () => {
    const file = path.join(folder, 'empty.eml');
    await writeFile(file, '');
    const { lines } = await scan([file]);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.category, 'unscannable');
  });

  it('skips a symbolic link to a folder without an error', async () => {
    const tree = path.join(folder, 'tree');
    await mkdir(path.join(tree, 'real'), { recursive: true });
    await writeFile(path.join(tree, 'real', 'a.eml'), MESSAGE);
    await symlink(path.join(tree, 'real'), path.join(tree, 'linked'));
    await symlink(tree, path.join(tree, 'real', 'loop'));
    const { lines, summary } = await scan([tree]);
    const skipped = lines.filter((line) => line.skipped !== undefined).map((line) => path.basename(line.source));
    assert.deepEqual(skipped.sort(), ['linked', 'loop']);
    assert.equal(lines.filter((line) => line.category !== undefined).length, 1);
    assert.equal(summary.errors, 0);
    assert.equal(summary.skipped, 2);
  });

  it('writes ruleActions on every scanned line, empty without rules', async () => {
    const file = path.join(folder, 'plain.eml');
    await writeFile(file, MESSAGE);
    const { lines } = await scan([file]);
    assert.deepEqual(lines[0]?.ruleActions, []);
  });

  it('writes empty ruleActions when a deciding rule asked for none', async () => {
    const file = path.join(folder, 'decided.eml');
    await writeFile(file, MESSAGE);
    const ruleSet = {
      rules: [
        {
          name: 'Quarantine hello',
          conditions: [{ field: 'subject', operator: 'is', value: 'hello' }],
          actions: [{ type: 'quarantine' }],
        },
      ],
    };
    const rulesScanner = createInProcessScanner(await createRulesPipeline(ruleSet));
    const { lines } = await scan([file], { openScanner: () => Promise.resolve(rulesScanner) });
    assert.equal(lines[0]?.decidingRule, 'Quarantine hello');
    assert.deepEqual(lines[0]?.ruleActions, []);
  });

  it('names a report path that is a folder', async () => {
    const file = path.join(folder, 'one.eml');
    await assert.rejects(
      scanPaths({
        inputs: [file],
        openScanner: () => Promise.resolve(scanner),
        maxWorkers: 1,
        concurrency: 4,
        reportPath: folder,
        maxFileBytes: 1024,
        logger: silentLogger,
      }),
      (error: unknown) => {
        assert.ok(error instanceof ScannerError);
        assert.equal(error.message, `cannot create report file ${folder}: it is a folder, not a file; name a file in an existing folder`);
        return true;
      },
    );
  });
});
