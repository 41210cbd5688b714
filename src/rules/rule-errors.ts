import { ScannerError } from '../shared/errors.js';

/** One problem in a rule set: where it is and what is wrong. */
export interface RuleIssue {
  /** Path of the bad field, e.g. `rules[2].conditions[0].value`, or `""` for the whole set. */
  path: string;
  /** Name of the rule the field belongs to, when the path is inside a rule that has a name. */
  rule?: string;
  message: string;
}

/**
 * A rule set that cannot be used: invalid JSON, a schema error, a pattern RE2 cannot compile, a
 * list file that is missing or malformed, or too many rules. Code `rules-invalid`, permanent.
 */
export class RuleSetError extends ScannerError {
  readonly issues: readonly RuleIssue[];

  constructor(issues: readonly RuleIssue[]) {
    super('rules-invalid', `Invalid rule set: ${issues.map(formatRuleIssue).join('; ')}`);
    this.name = 'RuleSetError';
    this.issues = issues;
  }
}

/** Formats an issue as one line: `rules[2].conditions[0].value (rule "Block executables"): message`. */
export function formatRuleIssue(issue: RuleIssue): string {
  const where = issue.path === '' ? 'rule set' : issue.path;
  const rule = issue.rule === undefined ? '' : ` (rule "${issue.rule}")`;
  return `${where}${rule}: ${issue.message}`;
}

/** Turns a zod-style path (`['rules', 2, 'conditions', 0]`) into `rules[2].conditions[0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      text += `[${segment}]`;
    } else {
      text += text === '' ? String(segment) : `.${String(segment)}`;
    }
  }
  return text;
}
