// npm run bench: throughput and memory of the embedded pipeline on the SpamAssassin corpus and on
// one generated 100 MB message. Each measurement runs in its own child process so that its peak
// RSS is its own. Not a test: figures go to docs/benchmarks.md by hand, with the machine.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

import PostalMime from 'postal-mime';

import { loadSettings } from '../src/config/settings.js';
import { createDeadline } from '../src/scanning/deadline.js';
import { createEmbeddedEngines } from '../src/scanning/engines.js';
import { extractMessage } from '../src/scanning/extract.js';
import { createPipeline } from '../src/scanning/pipeline.js';
import { silentLogger } from '../src/shared/logger.js';
import { CORPUS_GROUPS, type CorpusGroup, loadCorpus } from './corpus.js';
import { buildLargeMessage } from './large-message.js';

const MIB = 1024 * 1024;

interface PhaseResult {
  phase: string;
  messages: number;
  bytes: number;
  seconds: number;
  maxRssMb: number;
  groups?: Record<string, { total: number; spam: number; notClean: number }>;
  categories?: Record<string, number>;
}

const phases: Record<string, () => Promise<PhaseResult>> = {
  'parse-only': parseOnly,
  extract: extractOnly,
  pipeline: fullPipeline,
  'large-message': largeMessage,
};

async function parseOnly(): Promise<PhaseResult> {
  const corpus = loadCorpus();
  const started = performance.now();
  for (const message of corpus) {
    await PostalMime.parse(message.raw, { attachmentEncoding: 'arraybuffer' });
  }
  return finish('parse-only (postal-mime)', corpus.length, totalBytes(corpus), started);
}

async function extractOnly(): Promise<PhaseResult> {
  const corpus = loadCorpus();
  const { limits } = loadSettings({});
  const started = performance.now();
  for (const message of corpus) {
    await extractMessage(message.raw, limits, createDeadline(limits.scanTimeoutMs));
  }
  return finish('extraction (MIME walk, archives, uuencode)', corpus.length, totalBytes(corpus), started);
}

async function fullPipeline(): Promise<PhaseResult> {
  const corpus = loadCorpus();
  const settings = loadSettings({ MAILSWEEP_ORG_DOMAINS: 'contoso.com' });
  const pipeline = createPipeline({
    limits: settings.limits,
    actions: settings.actions,
    engines: await createEmbeddedEngines(settings),
    logger: silentLogger,
  });
  const groups: NonNullable<PhaseResult['groups']> = {};
  const categories: Record<string, number> = {};
  const started = performance.now();
  for (const message of corpus) {
    const { verdict } = await pipeline.scan(message.raw);
    const counts = (groups[message.group] ??= { total: 0, spam: 0, notClean: 0 });
    counts.total += 1;
    counts.spam += verdict.findings.some((finding) => finding.category === 'spam') ? 1 : 0;
    counts.notClean += verdict.category === 'clean' ? 0 : 1;
    categories[verdict.category] = (categories[verdict.category] ?? 0) + 1;
  }
  const result = finish('full embedded pipeline', corpus.length, totalBytes(corpus), started);
  return { ...result, groups, categories };
}

async function largeMessage(): Promise<PhaseResult> {
  const settings = loadSettings({});
  const pipeline = createPipeline({
    limits: settings.limits,
    actions: settings.actions,
    engines: await createEmbeddedEngines(settings),
    logger: silentLogger,
  });
  const raw = buildLargeMessage(100 * MIB);
  const started = performance.now();
  const { verdict } = await pipeline.scan(raw);
  const result = finish(`one 100 MB message (verdict ${verdict.category})`, 1, raw.length, started);
  return result;
}

function finish(phase: string, messages: number, bytes: number, started: number): PhaseResult {
  const seconds = (performance.now() - started) / 1000;
  return { phase, messages, bytes, seconds, maxRssMb: process.resourceUsage().maxRSS / 1024 };
}

function totalBytes(corpus: readonly { raw: Uint8Array }[]): number {
  return corpus.reduce((sum, message) => sum + message.raw.length, 0);
}

/** Runs one phase in a fresh child process and reads its JSON result. */
function runPhase(name: string): PhaseResult {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), name], {
    encoding: 'utf8',
    maxBuffer: 16 * MIB,
  });
  if (child.status !== 0) {
    throw new Error(`benchmark phase ${name} failed: ${child.stderr}`);
  }
  return JSON.parse(child.stdout) as PhaseResult;
}

function printReport(results: PhaseResult[]): void {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  process.stdout.write(`Machine: ${cpu}, ${os.cpus().length} cores, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}\n\n`);
  process.stdout.write('| phase | messages | messages/s | MB/s | peak RSS MB |\n|---|---|---|---|---|\n');
  for (const result of results) {
    const rate = result.messages / result.seconds;
    const throughput = result.bytes / MIB / result.seconds;
    process.stdout.write(`| ${result.phase} | ${result.messages} | ${rate.toFixed(0)} | ${throughput.toFixed(1)} | ${result.maxRssMb.toFixed(0)} |\n`);
  }
  const parse = results.find((result) => result.phase.startsWith('parse-only'));
  const full = results.find((result) => result.groups);
  if (parse && full) {
    const ratio = full.messages / full.seconds / (parse.messages / parse.seconds);
    process.stdout.write(`\nFull pipeline / parse-only rate: ${ratio.toFixed(2)}x (target >= 0.40x)\n`);
  }
  if (full?.groups) {
    process.stdout.write('\n| group | messages | spam finding | not clean (any category) |\n|---|---|---|---|\n');
    for (const group of CORPUS_GROUPS) {
      const counts = full.groups[group as CorpusGroup];
      if (counts) {
        const percent = (value: number) => `${((100 * value) / counts.total).toFixed(1)}%`;
        process.stdout.write(`| ${group} | ${counts.total} | ${counts.spam} (${percent(counts.spam)}) | ${counts.notClean} (${percent(counts.notClean)}) |\n`);
      }
    }
    process.stdout.write(`\nCategories: ${JSON.stringify(full.categories)}\n`);
  }
}

const phase = process.argv[2];
if (phase) {
  const run = phases[phase];
  if (!run) {
    throw new Error(`unknown benchmark phase ${phase}; expected one of ${Object.keys(phases).join(', ')}`);
  }
  process.stdout.write(JSON.stringify(await run()));
} else {
  printReport(Object.keys(phases).map(runPhase));
}
