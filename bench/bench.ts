// npm run bench: throughput and memory of the embedded pipeline on the SpamAssassin corpus and on
// one generated 100 MB message. Each measurement runs in its own child process so that its peak
// RSS is its own, and throughput phases report the fastest of three passes over the corpus. Not a
// test: figures go to docs/benchmarks.md by hand, with the machine.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

import PostalMime from 'postal-mime';

import { loadSettings } from '../src/config/settings.js';
import { createDeadline } from '../src/scanning/deadline.js';
import { createEmbeddedEngines } from '../src/scanning/engines.js';
import { extractMessage } from '../src/scanning/extract.js';
import { createPipeline, type Pipeline } from '../src/scanning/pipeline.js';
import type { MessageView } from '../src/scanning/types.js';
import { silentLogger } from '../src/shared/logger.js';
import { CORPUS_GROUPS, type CorpusGroup, loadCorpus } from './corpus.js';
import { ENGINE_COMPARISON_PHASES } from './engine-comparison.js';
import { buildLargeMessage } from './large-message.js';
import { RULES_PHASES } from './rules.js';

const MIB = 1024 * 1024;

interface PhaseResult {
  phase: string;
  messages: number;
  bytes: number;
  seconds: number;
  maxRssMb: number;
  groups?: Record<string, { total: number; spam: number; notClean: number }>;
  /** Pipeline rate over parse-only rate, from the interleaved phase. */
  ratio?: number;
  categories?: Record<string, number>;
}

const phases: Record<string, () => Promise<PhaseResult>> = {
  'parse-only': parseOnly,
  extract: extractOnly,
  pipeline: fullPipeline,
  'large-message': largeMessage,
  ratio: interleavedRatio,
  engines: engineCosts,
  ...ENGINE_COMPARISON_PHASES,
  ...RULES_PHASES,
};

/**
 * Times each engine over views extracted beforehand: where the pipeline's time goes. Engines run in
 * pipeline order, so an engine that reuses an HTML parse made by an earlier one is timed as in the
 * pipeline.
 */
async function engineCosts(): Promise<PhaseResult> {
  const corpus = loadCorpus();
  const settings = loadSettings({ MAILSWEEP_ORG_DOMAINS: 'contoso.com' });
  const views: MessageView[] = [];
  for (const message of corpus) {
    const deadline = createDeadline(settings.limits.scanTimeoutMs);
    views.push((await extractMessage(message.raw, settings.limits, deadline)).view);
  }
  const costs: string[] = [];
  const engines = await createEmbeddedEngines(settings);
  const best = new Map<string, number>();
  for (let pass = 0; pass < PASSES; pass++) {
    // Fresh body objects each pass: HTML analysis is cached per body object, and a cache warmed by
    // an earlier pass would hide the cost a new message pays.
    const fresh = views.map((view) => ({ ...view, bodies: view.bodies.map((body) => ({ ...body })) }));
    for (const engine of engines) {
      const started = performance.now();
      for (const view of fresh) {
        await engine.scan(view, createDeadline(settings.limits.scanTimeoutMs));
      }
      const seconds = (performance.now() - started) / 1000;
      best.set(engine.name, Math.min(best.get(engine.name) ?? Number.POSITIVE_INFINITY, seconds));
    }
  }
  for (const [name, seconds] of best) {
    costs.push(`${name} ${((seconds / views.length) * 1e6).toFixed(0)} µs`);
  }
  return result(`engines alone, per message: ${costs.join(', ')}`, views.length, totalBytes(corpus), 0);
}

/** Rounds of the interleaved comparison. */
const RATIO_ROUNDS = 5;

/**
 * Times postal-mime alone and the full pipeline in alternating passes in one process, and keeps
 * the fastest pass of each. Load from other processes then hits both sides alike, so the ratio
 * is steadier than one computed from phases run minutes apart.
 */
async function interleavedRatio(): Promise<PhaseResult> {
  const corpus = loadCorpus();
  const pipeline = await createBenchPipeline({ MAILSWEEP_ORG_DOMAINS: 'contoso.com' });
  let parseBest = Number.POSITIVE_INFINITY;
  let pipelineBest = Number.POSITIVE_INFINITY;
  for (let round = 0; round < RATIO_ROUNDS; round++) {
    let started = performance.now();
    for (const message of corpus) {
      await PostalMime.parse(message.raw, { attachmentEncoding: 'arraybuffer' });
    }
    parseBest = Math.min(parseBest, performance.now() - started);
    started = performance.now();
    for (const message of corpus) {
      await pipeline.scan(message.raw);
    }
    pipelineBest = Math.min(pipelineBest, performance.now() - started);
  }
  const phase = `interleaved: pipeline ${(pipelineBest / 1000).toFixed(2)} s, parse-only ${(parseBest / 1000).toFixed(2)} s`;
  return { ...result(phase, corpus.length, totalBytes(corpus), pipelineBest / 1000), ratio: parseBest / pipelineBest };
}

/** Builds the embedded pipeline as the command line does, from the given settings. */
async function createBenchPipeline(env: Record<string, string>): Promise<Pipeline> {
  const settings = loadSettings(env);
  return createPipeline({
    limits: settings.limits,
    actions: settings.actions,
    engines: await createEmbeddedEngines(settings),
    logger: silentLogger,
  });
}

/** Passes over the corpus per throughput phase; the fastest is reported, to damp machine noise. */
const PASSES = 3;

/** Runs `pass` PASSES times and returns the shortest wall time in seconds. */
async function fastestPass(pass: () => Promise<void>): Promise<number> {
  let best = Number.POSITIVE_INFINITY;
  for (let index = 0; index < PASSES; index++) {
    const started = performance.now();
    await pass();
    best = Math.min(best, (performance.now() - started) / 1000);
  }
  return best;
}

async function parseOnly(): Promise<PhaseResult> {
  const corpus = loadCorpus();
  const seconds = await fastestPass(async () => {
    for (const message of corpus) {
      await PostalMime.parse(message.raw, { attachmentEncoding: 'arraybuffer' });
    }
  });
  return result('parse-only (postal-mime)', corpus.length, totalBytes(corpus), seconds);
}

async function extractOnly(): Promise<PhaseResult> {
  const corpus = loadCorpus();
  const { limits } = loadSettings({});
  const seconds = await fastestPass(async () => {
    for (const message of corpus) {
      await extractMessage(message.raw, limits, createDeadline(limits.scanTimeoutMs));
    }
  });
  return result('extraction (MIME walk, archives, uuencode)', corpus.length, totalBytes(corpus), seconds);
}

async function fullPipeline(): Promise<PhaseResult> {
  const corpus = loadCorpus();
  const pipeline = await createBenchPipeline({ MAILSWEEP_ORG_DOMAINS: 'contoso.com' });
  let groups: NonNullable<PhaseResult['groups']> = {};
  let categories: Record<string, number> = {};
  const seconds = await fastestPass(async () => {
    groups = {};
    categories = {};
    for (const message of corpus) {
      const { verdict } = await pipeline.scan(message.raw);
      const counts = (groups[message.group] ??= { total: 0, spam: 0, notClean: 0 });
      counts.total += 1;
      counts.spam += verdict.findings.some((finding) => finding.category === 'spam') ? 1 : 0;
      counts.notClean += verdict.category === 'clean' ? 0 : 1;
      categories[verdict.category] = (categories[verdict.category] ?? 0) + 1;
    }
  });
  return { ...result('full embedded pipeline', corpus.length, totalBytes(corpus), seconds), groups, categories };
}

async function largeMessage(): Promise<PhaseResult> {
  const pipeline = await createBenchPipeline({});
  const raw = buildLargeMessage(100 * MIB);
  const started = performance.now();
  const { verdict } = await pipeline.scan(raw);
  const seconds = (performance.now() - started) / 1000;
  return result(`one 100 MB message (verdict ${verdict.category})`, 1, raw.length, seconds);
}

function result(phase: string, messages: number, bytes: number, seconds: number): PhaseResult {
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
    if (result.seconds === 0) {
      process.stdout.write(`| ${result.phase} | ${result.messages} | | | ${result.maxRssMb.toFixed(0)} |\n`);
      continue;
    }
    const rate = result.messages / result.seconds;
    const throughput = result.bytes / MIB / result.seconds;
    process.stdout.write(`| ${result.phase} | ${result.messages} | ${rate.toFixed(0)} | ${throughput.toFixed(1)} | ${result.maxRssMb.toFixed(0)} |\n`);
  }
  const full = results.find((result) => result.groups);
  const interleaved = results.find((result) => result.ratio !== undefined);
  if (interleaved?.ratio !== undefined) {
    process.stdout.write(
      `\nFull pipeline / parse-only rate, interleaved best of ${RATIO_ROUNDS}: ${interleaved.ratio.toFixed(2)}x (target >= 0.40x)\n`,
    );
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
