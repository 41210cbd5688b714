import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { PassThrough } from 'node:stream';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { EXIT_FAILED, EXIT_FOUND, main } from '../../src/cli/main.js';
import type { ReportLine } from '../../src/cli/scan-run.js';
import { loadSettings } from '../../src/config/settings.js';
import { QuarantineIndex } from '../../src/quarantine/quarantine-index.js';
import type { QuarantineMetadata } from '../../src/quarantine/quarantine-types.js';
import { writeSamples, type Sample } from '../../src/samples/samples.js';
import { openStateTable, STATE_TABLES } from '../../src/state/tables.js';

/** Runs `main` and returns what it wrote to its output stream. */
async function runCapturingStdout(argv: string[]): Promise<{ code: number; stdout: string }> {
  const chunks: Buffer[] = [];
  const stdout = new PassThrough();
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const code = await main(argv, { stdout });
  return { code, stdout: Buffer.concat(chunks).toString('utf8') };
}

/** Runs `main` and returns what it wrote to standard error, where failures are reported. */
async function runCapturingStderr(argv: string[]): Promise<{ code: number; stderr: string }> {
  const chunks: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(argv, { stdout: new PassThrough() });
    return { code, stderr: chunks.join('') };
  } finally {
    process.stderr.write = write;
  }
}

/** Reads an item's metadata with `quarantine show`, as a user of the command line would. */
async function readCapturedMetadata(id: string): Promise<QuarantineMetadata> {
  const shown = await runCapturingStdout(['quarantine', 'show', id]);
  assert.equal(shown.code, 0);
  return JSON.parse(shown.stdout) as QuarantineMetadata;
}

describe('mailsweep scan', () => {
  let folder: string;
  let samples: Sample[];
  let report: ReportLine[];
  let exitCode: number;
  let summary: string;

  before(async () => {
    assert.ok(process.env.MAILSWEEP_QUARANTINE_CONNECTION_STRING, 'run this test through npm test, which starts Azurite');
    process.env.MAILSWEEP_QUARANTINE_CONTAINER = `cli-${Date.now()}`;
    process.env.MAILSWEEP_ORG_DOMAINS = 'contoso.com';
    folder = await mkdtemp(path.join(os.tmpdir(), 'mailsweep-cli-'));
    samples = await writeSamples(path.join(folder, 'samples'));
    const mbox = [
      'From a@fabrikam.example Thu Dec  3 09:15:00 2026',
      'From: a@fabrikam.example',
      'Subject: first',
      '',
      'first body',
      '',
      'From b@fabrikam.example Thu Dec  3 09:16:00 2026',
      'From: b@fabrikam.example',
      'Subject: second',
      '',
      'second body',
      '',
    ].join('\n');
    await writeFile(path.join(folder, 'samples', 'archive.mbox'), mbox);
    await symlink(path.join(folder, 'gone.eml'), path.join(folder, 'samples', 'dangling.eml'));
    await writeFile(path.join(folder, 'samples', 'notes.json'), '{}');
    await writeFile(path.join(folder, 'samples', 'empty.eml'), '');

    const reportPath = path.join(folder, 'report.jsonl');
    const result = await runCapturingStdout(['scan', path.join(folder, 'samples'), '--report', reportPath]);
    exitCode = result.code;
    summary = result.stdout;
    const lines = (await readFile(reportPath, 'utf8')).trim().split('\n');
    report = lines.map((line) => JSON.parse(line) as ReportLine);
  });

  after(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('exits with the found status', () => {
    assert.equal(exitCode, EXIT_FOUND);
  });

  it('writes one report line per message', () => {
    // 8 samples, 2 messages of the mbox, 1 empty file, 1 unreadable link; notes.json is not mail.
    assert.equal(report.length, 12);
    assert.ok(report.some((line) => line.source.endsWith('archive.mbox#2')));
  });

  it('reports each sample with its expected category', () => {
    for (const sample of samples) {
      const line = report.find((candidate) => candidate.source.endsWith(sample.file));
      assert.equal(line?.category, sample.expected.category, sample.file);
    }
  });

  it('reports an unreadable file and goes on', () => {
    const line = report.find((candidate) => candidate.source.endsWith('dangling.eml'));
    assert.match(line?.error ?? '', /ENOENT/);
    assert.equal(line?.category, undefined);
  });

  it('reports an unparseable message with an error', () => {
    const line = report.find((candidate) => candidate.source.endsWith('empty.eml'));
    assert.equal(line?.category, 'unscannable');
    assert.match(line?.error ?? '', /could not be parsed/);
    assert.ok(line?.quarantineId);
  });

  it('quarantines what the verdict says', () => {
    for (const line of report) {
      const shouldQuarantine = line.action === 'quarantine' || line.action === 'delete';
      assert.equal(Boolean(line.quarantineId), shouldQuarantine, line.source);
    }
  });

  it('prints a summary table', () => {
    for (const column of ['scanned', 'malware', 'quarantined', 'errors', 'messages/s']) {
      assert.ok(summary.includes(column), column);
    }
  });

  it('exports the quarantined message byte for byte', async () => {
    const sample = samples.find((candidate) => candidate.expected.category === 'malware');
    const line = report.find((candidate) => sample && candidate.source.endsWith(sample.file));
    assert.ok(line?.quarantineId);
    const output = path.join(folder, 'exported.eml');
    assert.equal(await main(['quarantine', 'export', line.quarantineId, '-o', output]), 0);
    assert.ok((await readFile(output)).equals(sample?.raw ?? Buffer.alloc(0)));
  });

  it('exports a message from an mbox without the empty line after it', async () => {
    const eicar = samples.find((sample) => sample.expected.category === 'malware');
    const clean = samples.find((sample) => sample.expected.category === 'clean');
    assert.ok(eicar, 'no malware sample');
    assert.ok(clean, 'no clean sample');
    // Written per RFC 4155: each message is followed by an empty line.
    const mbox = path.join(folder, 'written.mbox');
    await writeFile(
      mbox,
      Buffer.concat([
        Buffer.from('From a@fabrikam.example Thu Dec  3 09:15:00 2026\n'),
        eicar.raw,
        Buffer.from('\nFrom b@fabrikam.example Thu Dec  3 09:16:00 2026\n'),
        clean.raw,
        Buffer.from('\n'),
      ]),
    );
    const reportPath = path.join(folder, 'written.jsonl');
    assert.equal(await main(['scan', mbox, '--report', reportPath]), EXIT_FOUND);
    const lines = (await readFile(reportPath, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as ReportLine);
    const id = lines.find((line) => line.source.endsWith('written.mbox#1'))?.quarantineId;
    assert.ok(id);
    const output = path.join(folder, 'from-mbox.eml');
    assert.equal(await main(['quarantine', 'export', id, '-o', output]), 0);
    assert.ok((await readFile(output)).equals(eicar.raw));
  });

  it('explains an export path in a missing folder', async () => {
    const id = report.find((line) => line.quarantineId !== undefined)?.quarantineId;
    assert.ok(id);
    const output = path.join(folder, 'missing', 'x.eml');
    const result = await runCapturingStderr(['quarantine', 'export', id, '-o', output]);
    assert.equal(result.code, EXIT_FAILED);
    assert.match(result.stderr, new RegExp(`-o ${output} was not found`));
    assert.doesNotMatch(result.stderr, /ENOENT/);
  });

  it('lists the valid categories for an unknown one', async () => {
    const result = await runCapturingStderr(['quarantine', 'list', '--category', 'bogus']);
    assert.equal(result.code, EXIT_FAILED);
    assert.match(result.stderr, /clean, spam, phishing, malware, policy, unscannable/);
  });

  it('rejects a mailbox option in a file scan', async () => {
    const result = await runCapturingStderr(['scan', path.join(folder, 'samples'), '--since', '3d']);
    assert.equal(result.code, EXIT_FAILED);
    assert.match(result.stderr, /--since applies only with --mailbox/);
  });

  it('explains a missing training folder', async () => {
    const missing = path.join(folder, 'no-such-folder');
    const result = await runCapturingStderr(['train', '--spam', missing, '--ham', folder, '--out', path.join(folder, 'm.json')]);
    assert.equal(result.code, EXIT_FAILED);
    assert.match(result.stderr, new RegExp(`--spam ${missing} was not found`));
    assert.doesNotMatch(result.stderr, /ENOENT|scandir/);
  });

  it('shows and lists quarantined items', async () => {
    const line = report.find((candidate) => candidate.quarantineId && candidate.category === 'malware');
    const shown = await runCapturingStdout(['quarantine', 'show', line?.quarantineId ?? '']);
    assert.equal(shown.code, 0);
    assert.equal(JSON.parse(shown.stdout).id, line?.quarantineId);
    const listed = await runCapturingStdout(['quarantine', 'list', '--category', 'malware']);
    assert.equal(listed.code, 0);
    assert.ok(listed.stdout.includes(line?.quarantineId ?? 'missing'));
  });

  it('indexes what it quarantines for the API', async () => {
    const index = new QuarantineIndex(await openStateTable({ settings: loadSettings(process.env).state }, STATE_TABLES.quarantineIndex));
    const quarantined = report.filter((line) => line.quarantineId !== undefined);
    assert.ok(quarantined.length > 0);
    for (const line of quarantined) {
      const metadata = await readCapturedMetadata(line.quarantineId ?? '');
      assert.ok(await index.findRow(metadata), `index row of ${line.source}`);
    }
  });

  it('reindexes every stored item', async () => {
    const result = await runCapturingStdout(['quarantine', 'reindex']);
    assert.equal(result.code, 0);
    const quarantined = new Set(report.map((line) => line.quarantineId).filter((id) => id !== undefined));
    assert.match(result.stdout, new RegExp(`^Indexed ${quarantined.size} quarantined items`));
  });

  it('fails cleanly on an unknown quarantine id', async () => {
    assert.equal(await main(['quarantine', 'show', 'ffffffffffffffffffffffffffffffff']), EXIT_FAILED);
    assert.equal(await main(['quarantine', 'show', '../../etc/passwd']), EXIT_FAILED);
  });

  it('refuses a report path that names a file to scan, and keeps that file', async () => {
    const eicar = samples.find((sample) => sample.expected.category === 'malware');
    assert.ok(eicar);
    const input = path.join(folder, 'self.eml');
    await writeFile(input, eicar.raw);
    assert.equal(await main(['scan', input, '--report', input, '--no-quarantine']), EXIT_FAILED);
    assert.deepEqual(await readFile(input), eicar.raw);
  });

  it('shows a bidi control escaped in JSON', async () => {
    const eicar = samples.find((sample) => sample.file.startsWith('eicar'));
    assert.ok(eicar);
    const file = path.join(folder, 'bidi.eml');
    const raw = eicar.raw.toString('latin1').replace(/^Subject: .*$/m, 'Subject: =?utf-8?Q?invoice=E2=80=AEgpj.exe?=');
    await writeFile(file, Buffer.from(raw, 'latin1'));
    const reportPath = path.join(folder, 'bidi.jsonl');
    assert.equal(await main(['scan', file, '--report', reportPath]), EXIT_FOUND);
    const reportText = await readFile(reportPath, 'utf8');
    const line = JSON.parse(reportText) as ReportLine;

    const shown = await runCapturingStdout(['quarantine', 'show', line.quarantineId ?? '']);

    assert.equal(shown.code, 0);
    assert.ok(!shown.stdout.includes('\u202E'));
    assert.ok(shown.stdout.includes('invoice\\u202egpj.exe'));
    assert.equal((JSON.parse(shown.stdout) as QuarantineMetadata).subject, 'invoice\u202Egpj.exe');
  });

  it('finds a message behind an mbox separator without a proper date', async () => {
    const eicar = samples.find((sample) => sample.file.startsWith('eicar'));
    const clean = samples.find((sample) => sample.expected.category === 'clean');
    assert.ok(eicar && clean);
    const mbox = path.join(folder, 'loose.mbox');
    const separator = Buffer.from('From a@fabrikam.example Thu Dec  3 09:15:00 2026\n');
    await writeFile(mbox, Buffer.concat([separator, clean.raw, Buffer.from('\nFrom \n'), eicar.raw]));
    const reportPath = path.join(folder, 'loose.jsonl');
    const code = await main(['scan', mbox, '--report', reportPath, '--no-quarantine']);
    assert.equal(code, EXIT_FOUND);
    const lines = (await readFile(reportPath, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as ReportLine);
    assert.deepEqual(lines.map((line) => line.category), ['clean', 'malware']);
  });
});
