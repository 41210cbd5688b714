import type {
  Action,
  Category,
  Deadline,
  Finding,
  MessageView,
  RuleActionRequest,
  RuleHook,
  RuleMatch,
  RuleOutcome,
  RulePass,
  Stage,
} from '../scanning/types.js';
import { CATEGORY_SEVERITY } from '../scanning/types.js';
import type { CompiledRule, CompiledRuleSet } from './compile-rules.js';
import type { ConditionInputs } from './compile-condition.js';
import { buildMessageFacts, type MessageFacts, type PartFacts } from './message-facts.js';
import type { RuleAction, RulePoint } from './rule-schema.js';

/** Trace of one rule evaluation, for `POST /api/rules/test` and `mailsweep rules test`. */
export interface RuleTraceEntry {
  rule: string;
  point: RulePoint;
  mimePath?: string;
  matched: boolean;
  /** The conditions that held, in order, up to the first that failed. */
  held: string[];
  /** The first condition that did not hold, or `scope` when the rule's scope excluded the message. */
  failed?: string;
}

/** Options of {@link createRuleHook}. */
export interface RuleHookOptions {
  /** Returns the rule set in force now, or undefined for none; called once per message. */
  current(): CompiledRuleSet | undefined;
  /** Receives every rule evaluated, for tests and the test endpoint; slows evaluation. */
  trace?: (entry: RuleTraceEntry) => void;
}

/** Rank of each action; a stronger action wins when rules and engines ask for different ones. */
export const ACTION_RANK: Readonly<Record<Action, number>> = {
  none: 0,
  tag: 1,
  junk: 2,
  quarantine: 3,
  delete: 4,
};

/** Builds the pipeline's rule hook over whatever rule set `current` returns. */
export function createRuleHook(options: RuleHookOptions): RuleHook {
  return {
    async begin(view, deadline) {
      const ruleSet = options.current();
      if (ruleSet === undefined) {
        return undefined;
      }
      const facts = await buildMessageFacts(view, ruleSet.needs);
      return beginEvaluation(ruleSet, view, facts, deadline, options.trace);
    },
  };
}

/** State of one message's evaluation across the three points. */
interface Evaluation {
  ruleSet: CompiledRuleSet;
  view: MessageView;
  facts: MessageFacts;
  stopped: boolean;
  skipped: Set<Stage>;
  outcome: RuleOutcome;
  trace?: (entry: RuleTraceEntry) => void;
}

/**
 * Runs the message and attachment points and returns a pass whose `complete` runs the results
 * point. Exported for the benchmark, which times evaluation without fact building.
 */
export function beginEvaluation(
  ruleSet: CompiledRuleSet,
  view: MessageView,
  facts: MessageFacts,
  deadline: Deadline,
  trace?: (entry: RuleTraceEntry) => void,
): RulePass {
  const state: Evaluation = {
    ruleSet,
    view,
    facts,
    stopped: false,
    skipped: new Set(),
    outcome: {
      findings: [],
      action: 'none',
      ruleActions: [],
      ruleMatches: [],
      ruleSetVersion: ruleSet.version,
    },
    trace,
  };
  runPoint(state, 'message', { facts }, deadline);
  for (const part of facts.attachments) {
    if (state.stopped || ruleSet.byPoint.attachment.length === 0) {
      break;
    }
    runPoint(state, 'attachment', { facts, part }, deadline);
  }
  return {
    skippedStages: state.skipped,
    complete(results) {
      facts.results = {
        avCategory: maxCategoryOfStage(results.findings, 'antivirus'),
        spamScore: results.spam?.score,
        phishingFindings: results.findings
          .filter((finding) => finding.stage === 'antiphishing')
          .map((finding) => finding.signature.toLowerCase()),
      };
      runPoint(state, 'results', { facts }, deadline);
      return state.outcome;
    },
  };
}

/**
 * Evaluates the rules of one point in order. The first rule that matches is executed. Evaluation
 * at this point then ends unless its actions contain `continue`, and `stop` ends it for every
 * later point too.
 */
function runPoint(
  state: Evaluation,
  point: RulePoint,
  inputs: ConditionInputs,
  deadline: Deadline,
): void {
  for (const rule of state.ruleSet.byPoint[point]) {
    if (state.stopped) {
      return;
    }
    // NOTE: a deadline check per rule would cost more than most rules, so it runs per 64 rules.
    if ((rule.index & 63) === 0 && deadline.expired()) {
      state.stopped = true;
      state.outcome.findings.push({
        stage: 'rules',
        engine: 'rules',
        category: 'unscannable',
        signature: 'limit.scan-timeout',
        reason: `scan time ran out while rules of the ${point} point were evaluated`,
        mimePath: inputs.part?.path ?? '',
      });
      return;
    }
    if (!matches(state, rule, inputs)) {
      continue;
    }
    execute(state, rule, inputs.part);
    if (rule.stops) {
      state.stopped = true;
    }
    if (!rule.continues) {
      return;
    }
  }
}

function matches(state: Evaluation, rule: CompiledRule, inputs: ConditionInputs): boolean {
  if (rule.scope && !isInScope(state.view, rule)) {
    state.trace?.(traceEntry(rule, inputs, { matched: false, held: [], failed: 'scope' }));
    return false;
  }
  if (!state.trace) {
    for (const condition of rule.conditions) {
      if (!condition.test(inputs)) {
        return false;
      }
    }
    return true;
  }
  const held: string[] = [];
  for (const condition of rule.conditions) {
    if (!condition.test(inputs)) {
      state.trace(
        traceEntry(rule, inputs, { matched: false, held, failed: condition.description }),
      );
      return false;
    }
    held.push(condition.description);
  }
  state.trace(traceEntry(rule, inputs, { matched: true, held }));
  return true;
}

function traceEntry(
  rule: CompiledRule,
  inputs: ConditionInputs,
  result: Pick<RuleTraceEntry, 'matched' | 'held' | 'failed'>,
): RuleTraceEntry {
  const entry: RuleTraceEntry = { rule: rule.name, point: rule.point, ...result };
  if (inputs.part) {
    entry.mimePath = inputs.part.path;
  }
  return entry;
}

/** Tests the rule's scope. A scope field that is set excludes a message whose context lacks that value. */
function isInScope(view: MessageView, rule: CompiledRule): boolean {
  const scope = rule.scope ?? {};
  const context = view.context;
  const mailbox = context.mailbox?.toLowerCase();
  if (
    scope.mailboxes &&
    (mailbox === undefined || !scope.mailboxes.some((entry) => entry.toLowerCase() === mailbox))
  ) {
    return false;
  }
  const folder = context.folder?.toLowerCase();
  if (
    scope.folders &&
    (folder === undefined || !scope.folders.some((entry) => entry.toLowerCase() === folder))
  ) {
    return false;
  }
  if (
    scope.triggers &&
    (context.trigger === undefined || !scope.triggers.includes(context.trigger))
  ) {
    return false;
  }
  const groups = new Set((context.groups ?? []).map((group) => group.toLowerCase()));
  if (scope.groups && !scope.groups.some((group) => groups.has(group.toLowerCase()))) {
    return false;
  }
  return true;
}

function execute(state: Evaluation, rule: CompiledRule, part: PartFacts | undefined): void {
  const logOnly =
    state.ruleSet.mode === 'log-only' ||
    rule.actions.every(
      (action) => action.type === 'log' || action.type === 'continue' || action.type === 'stop',
    );
  const outcome = state.outcome;
  const match: RuleMatch = {
    rule: rule.name,
    point: rule.point,
    actions: rule.actions.map((action) => action.type),
    conditions: rule.conditions.map((condition) => condition.description),
    logOnly,
  };
  if (part) {
    match.mimePath = part.path;
  }
  outcome.ruleMatches.push(match);
  if (logOnly) {
    return;
  }
  outcome.firstRule ??= rule.name;
  for (const action of rule.actions) {
    applyAction(state, rule, action, part);
  }
}

const FINDING_OF: Partial<
  Record<RuleAction['type'], { category: Exclude<Category, 'clean'>; action: Action }>
> = {
  quarantine: { category: 'policy', action: 'quarantine' },
  delete: { category: 'policy', action: 'delete' },
  junk: { category: 'spam', action: 'junk' },
};

function applyAction(
  state: Evaluation,
  rule: CompiledRule,
  action: RuleAction,
  part: PartFacts | undefined,
): void {
  const outcome = state.outcome;
  const effect = FINDING_OF[action.type];
  if (effect) {
    outcome.findings.push(ruleFinding(rule, action.type, effect.category, part));
    raiseAction(outcome, effect.action, rule.name);
    return;
  }
  const request = toRequest(state, rule, action, part);
  if (request) {
    outcome.ruleActions.push(request);
    if (request.type === 'tag') {
      raiseAction(outcome, 'tag', rule.name);
    }
  }
  if (action.type === 'skip') {
    for (const stage of action.stages) {
      state.skipped.add(stage);
    }
  }
}

function toRequest(
  state: Evaluation,
  rule: CompiledRule,
  action: RuleAction,
  part: PartFacts | undefined,
): RuleActionRequest | undefined {
  switch (action.type) {
    case 'tag': {
      const { type: _type, ...fields } = action;
      return { type: 'tag', rule: rule.name, ...fields };
    }
    case 'removeAttachment':
      return part
        ? { type: 'removeAttachment', rule: rule.name, mimePath: part.attachmentPath }
        : undefined;
    case 'notify':
      return {
        type: 'notify',
        rule: rule.name,
        to: action.to,
        text: renderTemplate(action.template, state, rule, part),
      };
    default:
      return undefined;
  }
}

function raiseAction(outcome: RuleOutcome, action: Action, rule: string): void {
  if (ACTION_RANK[action] > ACTION_RANK[outcome.action]) {
    outcome.action = action;
    outcome.actionRule = rule;
  }
}

function ruleFinding(
  rule: CompiledRule,
  type: string,
  category: Exclude<Category, 'clean'>,
  part: PartFacts | undefined,
): Finding {
  return {
    stage: 'rules',
    engine: 'rules',
    category,
    signature: `rule.${type}`,
    reason: `rule "${rule.name}" matched and asks to ${type === 'junk' ? 'move it to Junk Email' : type} the message`,
    mimePath: part?.path ?? '',
  };
}

/**
 * Fills a notification template. Values come from the rule and the scan context only, so the text
 * carries no message content beyond the mailbox it is sent about.
 */
function renderTemplate(
  template: string,
  state: Evaluation,
  rule: CompiledRule,
  part: PartFacts | undefined,
): string {
  const values: Record<string, string> = {
    rule: rule.name,
    reason: rule.conditions.map((condition) => condition.description).join(' and '),
    point: rule.point,
    mimePath: part?.path ?? '',
    mailbox: state.view.context.mailbox ?? '',
  };
  return template.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_whole, name: string) => values[name] ?? '');
}

function maxCategoryOfStage(findings: readonly Finding[], stage: Stage): Category {
  let category: Category = 'clean';
  for (const finding of findings) {
    if (
      finding.stage === stage &&
      CATEGORY_SEVERITY[finding.category] > CATEGORY_SEVERITY[category]
    ) {
      category = finding.category;
    }
  }
  return category;
}
