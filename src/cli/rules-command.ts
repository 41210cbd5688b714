import { readFile, stat } from 'node:fs/promises';

import type { Command } from 'commander';

import type { Settings } from '../config/settings.js';
import { formatRuleIssue, RuleSetError } from '../rules/rule-errors.js';
import { loadRuleSetFile } from '../rules/rule-file.js';
import { type RuleTestReport, testRuleSet } from '../rules/rules-api.js';
import { ScannerError } from '../shared/errors.js';
import { looksLikeMbox, splitMbox } from '../shared/mbox.js';
import { toVisibleJson } from '../shared/visible-text.js';

/** Streams, settings and exit status of the `rules` subcommands. */
export interface RulesCommandOptions {
  stdout: NodeJS.WritableStream;
  readSettings(): Settings;
  /** Receives the exit status of the subcommand that ran. */
  setExitCode(code: number): void;
}

/**
 * Adds `mailsweep rules validate FILE.json` (exit 0 valid, 1 invalid) and
 * `mailsweep rules test FILE.eml` (prints which rule matched at each point and why).
 */
export function addRulesCommands(program: Command, options: RulesCommandOptions): void {
  const rules = program.command('rules').description('check admin rule sets');
  rules
    .command('validate')
    .description('validate a rule set file and the list files it names')
    .argument('<file>', 'rule set JSON file')
    .action(async (file: string) => {
      const settings = options.readSettings();
      try {
        const compiled = await loadRuleSetFile(file, settings.rules.maxRules);
        const enabled = Object.values(compiled.byPoint).reduce((sum, list) => sum + list.length, 0);
        options.stdout.write(
          `valid: ${compiled.ruleCount} rules, ${enabled} enabled, mode ${compiled.mode}\n`,
        );
        options.setExitCode(0);
      } catch (error) {
        if (!(error instanceof RuleSetError)) {
          throw error;
        }
        options.stdout.write(`invalid: ${error.issues.length} problem(s)\n`);
        for (const issue of error.issues) {
          options.stdout.write(`  ${formatRuleIssue(issue)}\n`);
        }
        options.setExitCode(1);
      }
    });
  rules
    .command('test')
    .description(
      'scan a message with the embedded engines and a rule set, and show which rules matched',
    )
    .argument('<message>', '.eml file, or an mbox file whose messages are tested one by one')
    .option('--rules <file>', 'rule set JSON file (default: MAILSWEEP_RULES_PATH)')
    .option('--json', 'print the report as JSON')
    .action(async (message: string, flags: { rules?: string; json?: boolean }) => {
      const settings = options.readSettings();
      const file = flags.rules ?? settings.rules.path;
      if (file === undefined) {
        throw new ScannerError(
          'config-invalid',
          'No rule set: pass --rules FILE or set MAILSWEEP_RULES_PATH',
        );
      }
      const ruleSet = await loadRuleSetFile(file, settings.rules.maxRules);
      const raw = await readMessageFile(message);
      if (!looksLikeMbox(raw)) {
        const report = await testRuleSet(ruleSet, raw, settings);
        options.stdout.write(
          flags.json ? `${toVisibleJson(report, 2)}\n` : formatReport(report),
        );
        options.setExitCode(0);
        return;
      }
      // An mbox file contains many messages, so each is tested on its own, as `scan` reads them.
      const reports: { source: string; report: RuleTestReport }[] = [];
      for (const [index, part] of splitMbox(raw).entries()) {
        const source = `${message}#${index + 1}`;
        const report = await testRuleSet(ruleSet, part, settings);
        reports.push({ source, report });
        if (!flags.json) {
          options.stdout.write(`${source}\n${formatReport(report)}`);
        }
      }
      if (flags.json) {
        options.stdout.write(`${toVisibleJson(reports, 2)}\n`);
      }
      options.setExitCode(0);
    });
}

/** Reads a message file; a FIFO or device is rejected, because reading it could block. */
async function readMessageFile(file: string): Promise<Buffer> {
  const info = await stat(file).catch((error: unknown) => {
    throw new ScannerError('input-unreadable', `Cannot read ${file}`, { cause: error });
  });
  if (!info.isFile()) {
    throw new ScannerError('input-unreadable', `Cannot read ${file}: not a regular file`);
  }
  return readFile(file).catch((error: unknown) => {
    throw new ScannerError('input-unreadable', `Cannot read ${file}`, { cause: error });
  });
}

function formatReport(report: RuleTestReport): string {
  const lines = [
    `verdict: ${report.category}, action ${report.action}` +
      (report.decidingRule ? `, decided by rule "${report.decidingRule}"` : ''),
  ];
  for (const [point, entries] of Object.entries(report.points)) {
    lines.push(`${point}:`);
    if (entries.length === 0) {
      lines.push('  no rule evaluated');
    }
    for (const entry of entries) {
      const where = entry.mimePath ? ` [part ${entry.mimePath}]` : '';
      const explanation = entry.matched
        ? `matched: ${entry.held.join(' and ')}`
        : `no match: ${entry.failed === 'scope' ? 'outside its scope' : `${entry.failed ?? ''} does not hold`}`;
      lines.push(`  "${entry.rule}"${where} ${explanation}`);
    }
  }
  for (const action of report.ruleActions) {
    lines.push(`requested: ${JSON.stringify(action)}`);
  }
  return `${lines.join('\n')}\n`;
}
