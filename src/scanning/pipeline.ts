import type { ScanLimits } from '../config/settings.js';
import type { Logger } from '../shared/logger.js';
import { toError } from '../shared/errors.js';
import { createDeadline } from './deadline.js';
import { extractMessage } from './extract.js';
import { hasLoneCarriageReturn, readLoneCarriageReturnsAsLineFeeds } from './line-breaks.js';
import {
  type Action,
  type Category,
  CATEGORY_SEVERITY,
  type Deadline,
  type EngineResult,
  type Finding,
  type MessageView,
  type RuleHook,
  type RuleOutcome,
  type RulePass,
  type ScanContext,
  STAGE_ORDER,
  type ScanEngine,
  type Verdict,
} from './types.js';

/** Limits, actions, engines and logger of a pipeline. */
export interface PipelineOptions {
  limits: ScanLimits;
  actions: Readonly<Record<Category, Action>>;
  /** Engines in any order; they run grouped by stage in {@link STAGE_ORDER}. */
  engines: readonly ScanEngine[];
  logger: Logger;
  /** Admin rules, evaluated before, during and after the engines. Default: none. */
  rules?: RuleHook;
}

/** A verdict plus what extraction saw, for quarantine metadata and reports. */
export interface ScanOutcome {
  verdict: Verdict;
  view: MessageView;
  /** Structural defects that did not change the verdict, e.g. `unclosed-multipart`. */
  defects: string[];
}

/** The scanning pipeline: extraction, then rules, antivirus, antispam and antiphishing engines. */
export interface Pipeline {
  /**
   * Scans one raw RFC 5322 message. Resolves for any input; hostile content is a verdict. The
   * context (mailbox, folder, message id, received time) reaches the engines in the view.
   */
  scan(raw: Uint8Array, context?: ScanContext): Promise<ScanOutcome>;
}

/** Builds a pipeline. Engines are run one after another, each under the message's deadline. */
export function createPipeline(options: PipelineOptions): Pipeline {
  const engines = [...options.engines].sort(
    (a, b) => STAGE_ORDER.indexOf(a.stage) - STAGE_ORDER.indexOf(b.stage),
  );
  return {
    scan: (raw, context = {}) => scanMessage(raw, context, engines, options),
  };
}

/**
 * Scans the message and, when it contains a lone carriage return, also the reading in which each one
 * ends a line, as Python's email package reads it. The worse verdict of the two readings is the
 * message's verdict, and the defect `bare-cr-line-ends` records that there were two. Both readings
 * share one deadline.
 */
async function scanMessage(
  raw: Uint8Array,
  context: ScanContext,
  engines: readonly ScanEngine[],
  options: PipelineOptions,
): Promise<ScanOutcome> {
  const started = performance.now();
  const deadline = createDeadline(options.limits.scanTimeoutMs);
  let outcome = await scanReading(raw, context, deadline, engines, options);
  // A nested message sent in base64 hides its lone CRs from this check, so extraction reads such
  // a message a second time itself.
  if (hasLoneCarriageReturn(raw)) {
    const lineFeedReading = readLoneCarriageReturnsAsLineFeeds(raw);
    const alternate = await scanReading(lineFeedReading, context, deadline, engines, options);
    outcome = chooseWorseOutcome(outcome, alternate);
    outcome.defects.push('bare-cr-line-ends');
  }
  outcome.verdict.durationMs = Math.round((performance.now() - started) * 100) / 100;
  return outcome;
}

/**
 * Returns the outcome with the more severe category, or with the stronger action when the
 * categories are equal, and the first outcome on a tie. The findings of the second outcome, when
 * it wins, say in their reason that they come from the reading with lone CRs as line ends.
 */
function chooseWorseOutcome(first: ScanOutcome, second: ScanOutcome): ScanOutcome {
  const severity = (outcome: ScanOutcome): number =>
    CATEGORY_SEVERITY[outcome.verdict.category] * 10 + ACTION_RANK[outcome.verdict.action];
  if (severity(second) <= severity(first)) {
    return first;
  }
  for (const finding of second.verdict.findings) {
    finding.reason = `${finding.reason} (reading lone CRs as line ends)`;
  }
  return { ...second, defects: [...first.defects, ...second.defects] };
}

/** Extracts one reading of the message and runs the rules and engines on it. */
async function scanReading(
  raw: Uint8Array,
  context: ScanContext,
  deadline: Deadline,
  engines: readonly ScanEngine[],
  options: PipelineOptions,
): Promise<ScanOutcome> {
  const { view, budget, defects } = await extractMessage(raw, options.limits, deadline, context);
  const findings: Finding[] = [...budget.findings];
  let spam: Verdict['spam'];
  const rulePass = options.rules
    ? await beginRules(options.rules, view, deadline, findings, options)
    : undefined;

  for (const engine of engines) {
    if (rulePass?.skippedStages.has(engine.stage)) {
      continue;
    }
    if (deadline.expired()) {
      findings.push(timeoutFinding(engine, options.limits.scanTimeoutMs));
      break;
    }
    const result = await runEngine(engine, view, deadline, options);
    findings.push(...result.findings);
    spam = result.spam ?? spam;
  }

  const ruleOutcome = rulePass ? completeRules(rulePass, findings, spam, options) : undefined;
  const category = decideCategory(findings);
  const verdict: Verdict = {
    category,
    action: options.actions[category],
    findings,
    durationMs: 0,
  };
  if (spam) {
    verdict.spam = spam;
  }
  if (ruleOutcome) {
    applyRuleOutcome(verdict, ruleOutcome, options);
  }
  return { verdict, view, defects };
}

/**
 * Runs the rules of the message and attachment points. A rule hook that fails makes the message
 * `unscannable`, never clean, and the engines still run.
 */
async function beginRules(
  rules: RuleHook,
  view: MessageView,
  deadline: Deadline,
  findings: Finding[],
  options: PipelineOptions,
): Promise<RulePass | undefined> {
  try {
    return await rules.begin(view, deadline);
  } catch (thrown: unknown) {
    findings.push(rulesFailedFinding(thrown, options));
    return undefined;
  }
}

function completeRules(
  pass: RulePass,
  findings: Finding[],
  spam: Verdict['spam'],
  options: PipelineOptions,
): RuleOutcome | undefined {
  try {
    return pass.complete({ findings, spam });
  } catch (thrown: unknown) {
    findings.push(rulesFailedFinding(thrown, options));
    return undefined;
  }
}

function rulesFailedFinding(thrown: unknown, options: PipelineOptions): Finding {
  const error = toError(thrown);
  options.logger.warn('rule evaluation failed', { error: error.message });
  return {
    stage: 'rules',
    engine: 'rules',
    category: 'unscannable',
    signature: 'rules.failed',
    reason: `rule evaluation failed: ${error.name}`,
    mimePath: '',
  };
}

/** Tests whether a finding records a rule's quarantine, delete or junk action, not a failure. */
function isRuleDecision(finding: Finding): boolean {
  return finding.stage === 'rules' && finding.signature.startsWith('rule.');
}

const ACTION_RANK: Readonly<Record<Action, number>> = {
  none: 0,
  tag: 1,
  junk: 2,
  quarantine: 3,
  delete: 4,
};

/**
 * Merges what the rules decided into the verdict. The category is the most severe of all findings,
 * rule findings included. The action is the stronger of the rules' action and the one the settings
 * give the engines' category, so a rule can raise the action but never lower it below what a
 * malware or phishing finding calls for.
 */
function applyRuleOutcome(verdict: Verdict, outcome: RuleOutcome, options: PipelineOptions): void {
  verdict.findings.push(...outcome.findings);
  verdict.category = decideCategory(verdict.findings);
  const engineCategory = decideCategory(
    verdict.findings.filter((finding) => !isRuleDecision(finding)),
  );
  const engineAction = options.actions[engineCategory];
  const ruleDecides =
    outcome.action !== 'none' && ACTION_RANK[outcome.action] >= ACTION_RANK[engineAction];
  verdict.action = ruleDecides ? outcome.action : engineAction;
  let decidingRule: string | undefined;
  if (ruleDecides) {
    decidingRule = outcome.actionRule;
  } else if (engineCategory === 'clean') {
    decidingRule = outcome.firstRule;
  }
  if (decidingRule !== undefined) {
    verdict.decidingRule = decidingRule;
  }
  if (outcome.ruleActions.length > 0) {
    verdict.ruleActions = outcome.ruleActions;
  }
  verdict.ruleMatches = outcome.ruleMatches;
  if (outcome.ruleSetVersion !== undefined) {
    verdict.ruleSetVersion = outcome.ruleSetVersion;
  }
}

/**
 * Runs one engine. An engine that throws, rejects or outlives the deadline yields an
 * `unscannable` finding, so a failing engine can never make a message look clean.
 */
async function runEngine(
  engine: ScanEngine,
  view: MessageView,
  deadline: Deadline,
  options: PipelineOptions,
): Promise<EngineResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const pending = engine.scan(view, deadline);
    if (!(pending instanceof Promise)) {
      // A synchronous engine has already finished; only an asynchronous one needs a timer.
      return pending;
    }
    const timeout = new Promise<EngineResult>((resolve) => {
      const remaining = Math.max(0, deadline.expiresAt - performance.now());
      const finding = timeoutFinding(engine, options.limits.scanTimeoutMs);
      timer = setTimeout(() => resolve({ findings: [finding] }), remaining);
    });
    return await Promise.race([pending, timeout]);
  } catch (thrown: unknown) {
    const error = toError(thrown);
    options.logger.warn('scan engine failed', { engine: engine.name, error: error.message });
    return {
      findings: [
        {
          stage: engine.stage,
          engine: engine.name,
          category: 'unscannable',
          signature: 'engine.failed',
          reason: `engine ${engine.name} failed: ${error.name}`,
          mimePath: '',
        },
      ],
    };
  } finally {
    clearTimeout(timer);
  }
}

function timeoutFinding(engine: ScanEngine, timeoutMs: number): Finding {
  return {
    stage: engine.stage,
    engine: engine.name,
    category: 'unscannable',
    signature: 'limit.scan-timeout',
    reason: `scan exceeded ${timeoutMs} ms before engine ${engine.name} finished`,
    mimePath: '',
  };
}

/** Returns the most severe category among the findings, or clean when there are none. */
export function decideCategory(findings: readonly Finding[]): Category {
  let category: Category = 'clean';
  for (const finding of findings) {
    if (CATEGORY_SEVERITY[finding.category] > CATEGORY_SEVERITY[category]) {
      category = finding.category;
    }
  }
  return category;
}

/** Extraction findings that mean the top-level message could not be parsed at all. */
const PARSE_FAILURE_SIGNATURES = new Set([
  'mime.empty',
  'mime.not-a-message',
  'mime.unparseable',
  'limit.message-bytes',
  'limit.mime-depth',
  'limit.mime-parts',
  'limit.header-bytes',
]);

/**
 * Returns why the message as a whole could not be parsed, or undefined when its top level parsed.
 * Limits crossed deeper inside (a nested message, an archive) do not count: the rest was scanned.
 */
export function describeParseFailure(findings: readonly Finding[]): string | undefined {
  const failure = findings.find(
    (finding) =>
      finding.stage === 'extract' && finding.mimePath === '' && PARSE_FAILURE_SIGNATURES.has(finding.signature),
  );
  return failure ? `message could not be parsed: ${failure.reason}` : undefined;
}
