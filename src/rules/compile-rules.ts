import { type CompiledCondition, compileCondition } from './compile-condition.js';
import type { FactNeeds } from './message-facts.js';
import { formatPath, type RuleIssue, RuleSetError } from './rule-errors.js';
import {
  type CompiledList,
  compileInlineList,
  type ListFileReader,
  parseListFile,
} from './rule-lists.js';
import {
  RESULT_FIELDS,
  type RuleAction,
  type RuleInput,
  type RulePoint,
  type RuleScope,
  type RuleSetInput,
  ruleSetSchema,
} from './rule-schema.js';

/** A rule ready to evaluate. */
export interface CompiledRule {
  name: string;
  /** Position in the rule set, from 0. */
  index: number;
  point: RulePoint;
  scope?: RuleScope;
  conditions: readonly CompiledCondition[];
  actions: readonly RuleAction[];
  /** Evaluation goes on to the next rule at this point after this one matched. */
  continues: boolean;
  /** Evaluation ends for the whole message, later points included, after this one matched. */
  stops: boolean;
}

/** A validated rule set, ready to evaluate. Immutable; a new version is a new object. */
export interface CompiledRuleSet {
  /** Stored version, when the set came from the rule store. */
  version?: number;
  mode: 'enforce' | 'log-only';
  /** Enabled rules of each point, in rule set order. */
  byPoint: Readonly<Record<RulePoint, readonly CompiledRule[]>>;
  needs: FactNeeds;
  /** Rules in the set, disabled ones included. */
  ruleCount: number;
  /** The set as validated, with defaults filled in. */
  source: RuleSetInput;
}

/** Options of {@link compileRuleSet}. */
export interface CompileRuleSetOptions {
  /** Maximum rules in one set; larger sets are rejected. */
  maxRules: number;
  /** Reads list files; without it a list with a `file` is an error. */
  readListFile?: ListFileReader;
  version?: number;
}

/**
 * Validates and compiles a rule set: the schema, each operator and value against its field, every
 * regular expression (RE2), every list and its file, and the set's size.
 * @throws RuleSetError (`rules-invalid`) listing every problem with the path of the bad field.
 */
export async function compileRuleSet(
  input: unknown,
  options: CompileRuleSetOptions,
): Promise<CompiledRuleSet> {
  const parsed = ruleSetSchema.safeParse(input);
  if (!parsed.success) {
    throw new RuleSetError(
      parsed.error.issues.map((issue) => ({
        path: formatPath(issue.path),
        rule: ruleNameAt(input, issue.path),
        message: issue.message,
      })),
    );
  }
  const ruleSet = parsed.data;
  const issues: RuleIssue[] = [];
  if (ruleSet.rules.length > options.maxRules) {
    throw new RuleSetError([
      {
        path: 'rules',
        message: `has ${ruleSet.rules.length} rules, more than the limit of ${options.maxRules}`,
      },
    ]);
  }
  checkNames(ruleSet.rules, issues);
  const { lists, failures } = await loadLists(ruleSet, options.readListFile, issues);
  const rules = ruleSet.rules.map((rule, index) =>
    compileRule(rule, index, { lists, failures }, issues),
  );
  if (issues.length > 0) {
    throw new RuleSetError(issues);
  }

  const enabled = rules.filter(
    (rule): rule is CompiledRule =>
      rule !== undefined && ruleSet.rules[rule.index]?.enabled === true,
  );
  const usedFields = new Set(
    enabled.flatMap((rule) => rule.conditions.map((condition) => condition.field)),
  );
  return {
    version: options.version,
    mode: ruleSet.mode,
    byPoint: {
      message: enabled.filter((rule) => rule.point === 'message'),
      attachment: enabled.filter((rule) => rule.point === 'attachment'),
      results: enabled.filter((rule) => rule.point === 'results'),
    },
    needs: {
      bodies: usedFields.has('body'),
      trueTypes: usedFields.has('attachment.trueType') || usedFields.has('archive.memberType'),
    },
    ruleCount: ruleSet.rules.length,
    source: ruleSet,
  };
}

function checkNames(rules: readonly RuleInput[], issues: RuleIssue[]): void {
  const seen = new Set<string>();
  for (const [index, rule] of rules.entries()) {
    const key = rule.name.toLowerCase();
    if (seen.has(key)) {
      issues.push({
        path: `rules[${index}].name`,
        rule: rule.name,
        message: 'repeats the name of an earlier rule',
      });
    }
    seen.add(key);
  }
}

function compileRule(
  rule: RuleInput,
  index: number,
  { lists, failures }: LoadedLists,
  issues: RuleIssue[],
): CompiledRule | undefined {
  const base = `rules[${index}]`;
  const before = issues.length;
  const conditions: CompiledCondition[] = [];
  for (const [position, condition] of rule.conditions.entries()) {
    const path = `${base}.conditions[${position}]`;
    if (RESULT_FIELDS.has(condition.field) && rule.point !== 'results') {
      issues.push({
        path: `${path}.field`,
        rule: rule.name,
        message: `${condition.field} is an engine result, so the rule's point must be "results"`,
      });
      continue;
    }
    const failure = isListOperator(condition.operator)
      ? failures.get(String(condition.value))
      : undefined;
    if (failure !== undefined) {
      issues.push({
        path: `${path}.value`,
        rule: rule.name,
        message: `list "${String(condition.value)}": ${failure}`,
      });
      continue;
    }
    const compiled = compileCondition(condition, lists);
    if (Array.isArray(compiled)) {
      issues.push(
        ...compiled.map((issue) => ({
          path: `${path}.${issue.path}`,
          rule: rule.name,
          message: issue.message,
        })),
      );
    } else {
      conditions.push(compiled);
    }
  }
  checkActions(rule, base, issues);
  if (issues.length > before) {
    return undefined;
  }
  return {
    name: rule.name,
    index,
    point: rule.point,
    scope: rule.scope,
    conditions,
    actions: rule.actions,
    continues: rule.actions.some((action) => action.type === 'continue'),
    stops: rule.actions.some((action) => action.type === 'stop'),
  };
}

function checkActions(rule: RuleInput, base: string, issues: RuleIssue[]): void {
  const types = rule.actions.map((action) => action.type);
  for (const [position, action] of rule.actions.entries()) {
    const path = `${base}.actions[${position}]`;
    if (action.type === 'removeAttachment' && rule.point !== 'attachment') {
      issues.push({
        path: `${path}.type`,
        rule: rule.name,
        message: 'removeAttachment needs the rule point "attachment"',
      });
    }
    if (action.type === 'skip' && rule.point !== 'message') {
      issues.push({
        path: `${path}.type`,
        rule: rule.name,
        message: 'skip runs before the engines, so it needs the rule point "message"',
      });
    }
  }
  if (types.includes('continue') && types.includes('stop')) {
    issues.push({
      path: `${base}.actions`,
      rule: rule.name,
      message: 'must not contain both continue and stop',
    });
  }
}

function isListOperator(operator: string): boolean {
  return operator === 'inList' || operator === 'notInList';
}

/** Lists that loaded, and why each other one failed (for the conditions that name it). */
interface LoadedLists {
  lists: ReadonlyMap<string, CompiledList>;
  failures: ReadonlyMap<string, string>;
}

async function loadLists(
  ruleSet: RuleSetInput,
  readListFile: ListFileReader | undefined,
  issues: RuleIssue[],
): Promise<LoadedLists> {
  const failures = new Map<string, string>();
  const lists = new Map<string, CompiledList>();
  for (const [name, list] of Object.entries(ruleSet.lists)) {
    if ('values' in list) {
      lists.set(name, compileInlineList(list.values));
      continue;
    }
    const loaded = await loadListFile(list.file, readListFile);
    if ('error' in loaded) {
      const users = listUsers(ruleSet, name);
      const message = `file "${list.file}" ${loaded.error}`;
      if (users.length === 0) {
        issues.push({ path: `lists.${name}.file`, message });
      }
      failures.set(name, message);
    } else {
      lists.set(name, loaded);
    }
  }
  return { lists, failures };
}

async function loadListFile(
  file: string,
  readListFile: ListFileReader | undefined,
): Promise<CompiledList | { error: string }> {
  if (!readListFile) {
    return { error: 'cannot be read here: list files need a rules file or the rule store' };
  }
  let text: string;
  try {
    text = await readListFile(file);
  } catch (thrown: unknown) {
    const code = (thrown as { code?: unknown }).code;
    if (code === 'OutsideFolder') {
      return { error: "is outside the rule set file's folder; keep list files in that folder or below it" };
    }
    return {
      error: code === 'ENOENT' || code === 'BlobNotFound' ? 'was not found' : 'could not be read',
    };
  }
  return parseListFile(text);
}

function listUsers(ruleSet: RuleSetInput, name: string): string[] {
  return ruleSet.rules
    .filter((rule) =>
      rule.conditions.some(
        (condition) => isListOperator(condition.operator) && condition.value === name,
      ),
    )
    .map((rule) => rule.name);
}

/** Name of the rule a schema issue path points into, read from the raw input if it has one. */
function ruleNameAt(input: unknown, path: readonly PropertyKey[]): string | undefined {
  if (path[0] !== 'rules' || typeof path[1] !== 'number') {
    return undefined;
  }
  const rules = (input as { rules?: unknown }).rules;
  const rule = Array.isArray(rules)
    ? (rules[path[1]] as { name?: unknown } | undefined)
    : undefined;
  return typeof rule?.name === 'string' ? rule.name : undefined;
}
