// Rules phase of `npm run bench`: 1,000 rules evaluated against one message, with the message
// already parsed. Target: median under 1 ms. No rule matches, so every rule of every point runs,
// which is the most work a set of this size can cause.
import { loadSettings } from '../src/config/settings.js';
import { compileRuleSet } from '../src/rules/compile-rules.js';
import { beginEvaluation } from '../src/rules/evaluate-rules.js';
import { buildMessageFacts } from '../src/rules/message-facts.js';
import { createDeadline } from '../src/scanning/deadline.js';
import { extractMessage } from '../src/scanning/extract.js';
import type { Finding } from '../src/scanning/types.js';

/** Timed evaluations; the median is reported. */
const RUNS = 5000;

/** Untimed evaluations first, so that the JIT has compiled the hot paths. */
const WARM_UP_RUNS = 500;

/** The row shape bench.ts prints. */
interface RulesPhaseResult {
  phase: string;
  messages: number;
  bytes: number;
  seconds: number;
  maxRssMb: number;
}

/** 1,000 rules over the three points, in the mix an administrator's set might have. */
function buildRuleSet(): unknown {
  const rules: unknown[] = [];
  const add = (point: string, conditions: unknown[]) =>
    rules.push({
      name: `rule ${rules.length}`,
      point,
      conditions,
      actions: [{ type: 'quarantine' }],
    });
  const domains = Array.from({ length: 1000 }, (_, index) => `blocked-${index}.example`);
  for (let index = 0; index < 250; index++) {
    add('message', [
      {
        field: 'sender.domain',
        operator: 'is',
        value: [`sender-${index}.example`, `alt-${index}.example`],
      },
    ]);
  }
  for (let index = 0; index < 150; index++) {
    add('message', [{ field: 'subject', operator: 'contains', value: `campaign ${index}` }]);
  }
  for (let index = 0; index < 100; index++) {
    add('message', [
      { field: 'subject', operator: 'matches', value: `\\b(offer|deal)-${index}\\b` },
    ]);
  }
  for (let index = 0; index < 100; index++) {
    add('message', [
      { field: 'sender.address', operator: 'inList', value: 'blocked' },
      { field: 'recipient', operator: 'contains', value: `team-${index}@` },
    ]);
  }
  for (let index = 0; index < 100; index++) {
    add('message', [
      { field: 'header', header: 'x-mailer', operator: 'contains', value: `mailer ${index}` },
    ]);
  }
  for (let index = 0; index < 100; index++) {
    add('message', [
      { field: 'auth.dmarc', operator: 'is', value: 'fail' },
      { field: 'message.size', operator: 'atLeast', value: 1000 + index },
    ]);
  }
  for (let index = 0; index < 100; index++) {
    add('attachment', [
      { field: 'attachment.extension', operator: 'is', value: [`x${index}`, `y${index}`] },
    ]);
  }
  for (let index = 0; index < 100; index++) {
    add('results', [
      { field: 'spam.score', operator: 'atLeast', value: 0.99 },
      { field: 'sender.domain', operator: 'isNot', value: `partner-${index}.example` },
    ]);
  }
  return { lists: { blocked: { values: domains } }, rules };
}

/** Builds a typical business message: a text body, two attachments and authentication results. */
function buildMessage(): Buffer {
  const lines = [
    'From: "Alice Example" <alice@partner.example>',
    'To: bob@contoso.com, carol@contoso.com',
    'Subject: Quarterly figures and the updated forecast',
    'Date: Tue, 03 Mar 2026 10:15:00 +0000',
    'Message-ID: <bench@partner.example>',
    'Return-Path: <alice@partner.example>',
    'Received: from mail.partner.example (mail.partner.example [203.0.113.9]) by mx.contoso.com',
    'Authentication-Results: mx.contoso.com; spf=pass smtp.mailfrom=partner.example; dkim=pass header.d=partner.example; dmarc=pass header.from=partner.example',
    'X-Mailer: Outlook 16.0',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello Bob, the figures for this quarter are attached. '.repeat(40),
    '--b',
    'Content-Type: application/pdf; name="figures.pdf"',
    'Content-Disposition: attachment; filename="figures.pdf"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('%PDF-1.7\n'.repeat(200)).toString('base64'),
    '--b',
    'Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; name="forecast.xlsx"',
    'Content-Disposition: attachment; filename="forecast.xlsx"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('PK'.repeat(500)).toString('base64'),
    '--b--',
    '',
  ];
  return Buffer.from(lines.join('\r\n'));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/**
 * Times rule evaluation on facts built once (the target's measure) and, separately, fact building,
 * which a real scan pays once per message on top of extraction.
 */
async function rulesEvaluation(): Promise<RulesPhaseResult> {
  const settings = loadSettings({});
  const ruleSet = await compileRuleSet(buildRuleSet(), { maxRules: 1000 });
  const raw = buildMessage();
  const { view } = await extractMessage(
    raw,
    settings.limits,
    createDeadline(settings.limits.scanTimeoutMs),
  );
  const facts = await buildMessageFacts(view, ruleSet.needs);
  const deadline = createDeadline(60_000);
  const results: { findings: Finding[]; spam: { score: number; threshold: number } } = {
    findings: [],
    spam: { score: 0.2, threshold: 0.87 },
  };

  const evaluate = () => {
    const pass = beginEvaluation(ruleSet, view, facts, deadline);
    const outcome = pass.complete(results);
    if (outcome.ruleMatches.length > 0) {
      throw new Error('a benchmark rule matched; every rule must run to the end');
    }
  };
  // One traced run checks that every rule is evaluated, so the timing covers them all.
  let traced = 0;
  beginEvaluation(ruleSet, view, facts, deadline, () => (traced += 1)).complete(results);
  const evaluations =
    ruleSet.byPoint.message.length +
    ruleSet.byPoint.results.length +
    ruleSet.byPoint.attachment.length * facts.attachments.length;
  if (traced !== evaluations) {
    throw new Error(`expected ${evaluations} rule evaluations, traced ${traced}`);
  }
  for (let run = 0; run < WARM_UP_RUNS; run++) {
    evaluate();
  }
  const times: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const started = performance.now();
    evaluate();
    times.push(performance.now() - started);
  }

  const factTimes: number[] = [];
  for (let run = 0; run < 500; run++) {
    const started = performance.now();
    await buildMessageFacts(view, ruleSet.needs);
    factTimes.push(performance.now() - started);
  }
  const phase =
    `rules: ${ruleSet.ruleCount} rules (${evaluations} evaluations) on one message, median ` +
    `${median(times).toFixed(3)} ms (target < 1 ms); building its facts, median ${median(factTimes).toFixed(3)} ms`;
  return {
    phase,
    messages: 1,
    bytes: raw.length,
    seconds: 0,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
}

/** Phases this file adds to `npm run bench`. */
export const RULES_PHASES: Record<string, () => Promise<RulesPhaseResult>> = {
  rules: rulesEvaluation,
};
