import { createWriteStream, existsSync, readFileSync, realpathSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline as streamPipeline } from 'node:stream/promises';

import { Command, InvalidArgumentError, Option } from 'commander';

import { loadSettings, pickSettingsEnvironment, type Settings } from '../config/settings.js';
import { createScanPool } from '../scanning/scan-pool.js';
import type { Category } from '../scanning/types.js';
import { ScannerError, toError } from '../shared/errors.js';
import { describeFileError } from '../shared/file-errors.js';
import { parseQuarantineId } from '../quarantine/index.js';
import { rebuildQuarantineIndex } from '../quarantine/indexed-store.js';
import { createJsonLogger, type LogLevel } from '../shared/logger.js';
import { toVisibleJson } from '../shared/visible-text.js';
import { openQuarantineStore } from './open-store.js';
import { printMailboxScanSummary, runMailboxScan } from './mailbox-scan-command.js';
import { createProgress, printQuarantineTable, printSummary } from './output.js';
import { addRulesCommands } from './rules-command.js';
import { scanPaths } from './scan-run.js';

/** Exit statuses: 0 nothing found, 1 something found or a message failed, 2 the run failed. */
export const EXIT_CLEAN = 0;
export const EXIT_FOUND = 1;
export const EXIT_FAILED = 2;

/** Output streams of the command line; tests pass their own. */
export interface CommandOutput {
  stdout: NodeJS.WritableStream;
}

/** Runs the command line with the given arguments (without `node` and the script path). */
export async function main(
  argv: readonly string[],
  output: CommandOutput = { stdout: process.stdout },
): Promise<number> {
  const { stdout } = output;
  let exitCode = EXIT_CLEAN;
  const program = new Command('mailsweep')
    .description('Scan mail for malware, spam and phishing and keep what it removes in a quarantine.')
    .version(readPackageVersion())
    .exitOverride()
    .showHelpAfterError();

  program
    .command('scan')
    .description(
      'scan .eml files, folders of them (recursively) or mbox files; or, with --mailbox, ' +
        'mailboxes over Graph or EWS',
    )
    .argument('[paths...]', 'files or folders to scan')
    .option('--report <file>', 'write one JSON object per message to this file')
    .option('--no-quarantine', 'scan and report without storing anything in the quarantine')
    .option('--mailbox <address...>', 'scan these mailboxes instead of files')
    .option('--since <time>', 'with --mailbox: messages received since 7d, 12h or an ISO time', '7d')
    .option('--until <time>', 'with --mailbox: messages received before this ISO time; default now')
    .option('--ews <url>', 'with --mailbox: scan the mailboxes on this EWS server')
    .option('--mode <mode>', 'with --mailbox: report (change nothing) or act', parseMode, 'report')
    .option('--folder <name...>', 'with --mailbox: only these folders (inbox, or a path like Inbox/Projects)')
    .option('--include-archive', 'with --mailbox: also scan the archive mailbox (EWS only)')
    .option('--include-recoverable-items', 'with --mailbox: also scan Recoverable Items')
    .option('--retro', 'with --mailbox: also rescan messages that scan on arrival already finished')
    .action(async (paths: string[], flags: ScanFlags, command: Command) => {
      rejectInapplicableOptions(command, flags.mailbox !== undefined);
      if (flags.mailbox !== undefined) {
        exitCode = await runMailboxScanCommand(paths, flags, stdout);
        return;
      }
      if (paths.length === 0) {
        throw new ScannerError('config-invalid', 'Name files or folders to scan, or --mailbox ADDRESS');
      }
      exitCode = await runScanCommand(paths, flags, stdout);
    });

  const quarantine = program.command('quarantine').description('read the quarantine store');
  quarantine
    .command('list')
    .description('list quarantined messages, newest first')
    .option('--mailbox <address>', 'only items of this mailbox')
    .addOption(
      new Option('--category <category>', 'only items of this verdict category').choices(
        CATEGORIES,
      ),
    )
    .option('--limit <n>', 'at most this many items', parsePositiveInt, 100)
    .action(async (flags: { mailbox?: string; category?: string; limit: number }) => {
      await withStore(async (store) => {
        const items = [];
        // The store lists in id order, so the newest items are found by reading them all.
        // NOTE: this reads every metadata blob; a large quarantine needs an index sorted by time.
        for await (const item of store.list({ mailbox: flags.mailbox, category: flags.category })) {
          items.push(item);
        }
        items.sort((a, b) => b.quarantinedAt.localeCompare(a.quarantinedAt));
        printQuarantineTable(items.slice(0, flags.limit), stdout);
      });
    });
  quarantine
    .command('show')
    .description('print the metadata and verdict of one item as JSON')
    .argument('<id>', 'quarantine item id')
    .action(async (id: string) => {
      parseQuarantineId(id);
      await withStore(async (store) => {
        stdout.write(`${toVisibleJson(await store.getMetadata(id), 2)}\n`);
      });
    });
  quarantine
    .command('export')
    .description('write the original message, byte for byte, to a file or standard output')
    .argument('<id>', 'quarantine item id')
    .option('-o, --output <file>', 'file to write (default: standard output)')
    .action(async (id: string, flags: { output?: string }) => {
      parseQuarantineId(id);
      await withStore(async (store) => {
        const content = await store.openContentStream(id);
        // Opened after the item is found, so that an unknown id leaves no empty file behind.
        const target = flags.output ? await openOutputFile(flags.output, '-o') : stdout;
        await streamPipeline(content, target, { end: Boolean(flags.output) });
      });
    });

  quarantine
    .command('reindex')
    .description(
      'write the index rows of every stored item, so that the API and web interface list items ' +
        'stored before the index existed',
    )
    .action(async () => {
      const settings = readSettings();
      const logger = createJsonLogger(commandLineLogLevel(settings));
      const opened = await openQuarantineStore(settings, logger);
      try {
        if (opened.index === undefined) {
          throw new ScannerError(
            'config-invalid',
            'No table storage is configured for the index: set MAILSWEEP_STATE_CONNECTION_STRING ' +
              'or MAILSWEEP_STATE_TABLE_URI',
          );
        }
        const count = await rebuildQuarantineIndex(opened.blobStore, opened.index, logger);
        stdout.write(`Indexed ${count} quarantined items\n`);
      } finally {
        await opened.close();
      }
    });

  program
    .command('train')
    .description('train the spam classifier from folders of labelled messages')
    .requiredOption('--spam <folders...>', 'folders of spam messages')
    .requiredOption('--ham <folders...>', 'folders of legitimate messages')
    .requiredOption('--out <file>', 'model file to write')
    .action(async (flags: { spam: string[]; ham: string[]; out: string }) => {
      const { trainFromFolders, saveSpamModel } = await import('../scanning/antispam/index.js');
      const settings = readSettings();
      await requireFolders('--spam', flags.spam);
      await requireFolders('--ham', flags.ham);
      await requireOutputFolder('--out', flags.out);
      const model = await trainFromFolders({ spam: flags.spam, ham: flags.ham, limits: settings.limits });
      await saveSpamModel(model, flags.out);
      process.stderr.write(`Wrote spam model to ${flags.out}\n`);
    });

  addRulesCommands(program, {
    stdout,
    readSettings,
    setExitCode: (code) => {
      exitCode = code;
    },
  });

  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (thrown: unknown) {
    return reportFailure(thrown);
  }
}

interface ScanFlags {
  report?: string;
  quarantine: boolean;
  mailbox?: string[];
  since: string;
  until?: string;
  ews?: string;
  mode: 'report' | 'act';
  folder?: string[];
  includeArchive?: boolean;
  includeRecoverableItems?: boolean;
  retro?: boolean;
}

async function runMailboxScanCommand(
  paths: string[],
  flags: ScanFlags,
  stdout: NodeJS.WritableStream,
): Promise<number> {
  if (paths.length > 0) {
    throw new ScannerError('config-invalid', '--mailbox scans mailboxes; do not name files as well');
  }
  const { summary } = await runMailboxScan(
    {
      mailbox: flags.mailbox ?? [],
      since: flags.since,
      until: flags.until,
      ews: flags.ews,
      mode: flags.mode,
      folders: flags.folder,
      includeArchive: flags.includeArchive,
      includeRecoverableItems: flags.includeRecoverableItems,
      retro: flags.retro,
      report: flags.report,
    },
    { env: process.env, stderr: process.stderr },
  );
  printMailboxScanSummary(summary, stdout);
  const found = Object.entries(summary.findings).some(([category, count]) => category !== 'clean' && count > 0);
  return found || summary.errors.length > 0 || summary.messages.errors > 0 ? EXIT_FOUND : EXIT_CLEAN;
}

/** Verdict categories that `quarantine list --category` accepts. */
const CATEGORIES: readonly Category[] = ['clean', 'spam', 'phishing', 'malware', 'policy', 'unscannable'];

/** Options of `scan` that apply only with --mailbox, by their attribute names in the flags. */
const MAILBOX_ONLY_OPTIONS = [
  'since',
  'until',
  'ews',
  'mode',
  'folder',
  'includeArchive',
  'includeRecoverableItems',
  'retro',
] as const;

/**
 * Rejects options given on the command line that the chosen kind of scan would ignore: the
 * mailbox options in a file scan, and --no-quarantine in a mailbox scan, which --mode decides.
 * @throws ScannerError `config-invalid` naming the options.
 */
function rejectInapplicableOptions(command: Command, mailboxScan: boolean): void {
  const given = (name: string) => command.getOptionValueSource(name) === 'cli';
  if (mailboxScan) {
    if (given('quarantine')) {
      throw new ScannerError(
        'config-invalid',
        '--no-quarantine applies to file scans only; a mailbox scan with --mode report changes nothing',
      );
    }
    return;
  }
  const flags = MAILBOX_ONLY_OPTIONS.filter(given).map(
    (name) => `--${name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`,
  );
  if (flags.length > 0) {
    throw new ScannerError(
      'config-invalid',
      `${flags.join(', ')} ${flags.length === 1 ? 'applies' : 'apply'} only with --mailbox; ` +
        `remove ${flags.length === 1 ? 'it' : 'them'} to scan files, or add --mailbox ADDRESS ` +
        'to scan a mailbox',
    );
  }
}

/**
 * Creates or empties a file to write, so that a bad path fails before any work.
 * @throws ScannerError `input-unreadable` naming the option and path when it cannot be created.
 */
async function openOutputFile(file: string, option: string): Promise<WriteStream> {
  const stream = createWriteStream(file);
  try {
    await once(stream, 'open');
  } catch (error: unknown) {
    throw new ScannerError(
      'input-unreadable',
      `${option} ${file} ${describeFileError(error)}; name a file in an existing folder that you may write to`,
      { cause: error },
    );
  }
  return stream;
}

/**
 * Checks that every path names a folder before a long run reads them.
 * @throws ScannerError `input-unreadable` naming the option and the path.
 */
async function requireFolders(option: string, folders: readonly string[]): Promise<void> {
  for (const folder of folders) {
    const info = await stat(folder).catch((error: unknown) => {
      throw new ScannerError(
        'input-unreadable',
        `${option} ${folder} ${describeFileError(error)}; name a folder of messages`,
        { cause: error },
      );
    });
    if (!info.isDirectory()) {
      throw new ScannerError('input-unreadable', `${option} ${folder} is a file; name a folder of messages`);
    }
  }
}

/**
 * Checks that a file can be created where it is named, without touching an existing file, so
 * that a bad path fails before a long run rather than after it.
 * @throws ScannerError `input-unreadable` naming the option and path.
 */
async function requireOutputFolder(option: string, file: string): Promise<void> {
  const folder = path.dirname(path.resolve(file));
  const folderInfo = await stat(folder).catch(() => undefined);
  if (folderInfo?.isDirectory() !== true) {
    throw new ScannerError('input-unreadable', `${option} ${file}: the folder ${folder} does not exist; create it or name another file`);
  }
  const fileInfo = await stat(file).catch(() => undefined);
  if (fileInfo?.isDirectory() === true) {
    throw new ScannerError('input-unreadable', `${option} ${file} is a folder; name a file such as ${path.join(file, 'model.json')}`);
  }
}

function parseMode(value: string): 'report' | 'act' {
  if (value !== 'report' && value !== 'act') {
    throw new InvalidArgumentError('must be report or act');
  }
  return value;
}

async function runScanCommand(
  paths: string[],
  flags: { report?: string; quarantine: boolean },
  stdout: NodeJS.WritableStream,
): Promise<number> {
  const settings = readSettings();
  if (flags.report !== undefined && paths.some((input) => samePath(input, flags.report ?? ''))) {
    // Opening the report would empty the message before it is read.
    throw new ScannerError('config-invalid', `--report ${flags.report} names one of the files to scan`);
  }
  const logger = createJsonLogger(commandLineLogLevel(settings));
  const progress = createProgress(process.stderr);
  let opened: Awaited<ReturnType<typeof openQuarantineStore>> | undefined;
  try {
    opened = flags.quarantine ? await openQuarantineStore(settings, logger) : undefined;
    const summary = await scanPaths({
      inputs: paths,
      openScanner: (workers) =>
        createScanPool({ settings, env: pickSettingsEnvironment(process.env), size: workers, logger }),
      maxWorkers: settings.workers.count,
      // More messages in flight than workers, so quarantine uploads overlap with scanning.
      concurrency: settings.workers.count * 4,
      store: opened?.store,
      reportPath: flags.report,
      maxFileBytes: settings.maxFileBytes,
      logger,
      onProgress: progress.update,
    });
    progress.stop();
    printSummary(summary, stdout);
    const found = summary.scanned - summary.byCategory.clean;
    return found > 0 || summary.errors > 0 ? EXIT_FOUND : EXIT_CLEAN;
  } finally {
    progress.stop();
    await opened?.close();
  }
}

async function withStore(
  action: (store: Awaited<ReturnType<typeof openQuarantineStore>>['store']) => Promise<void>,
): Promise<void> {
  const settings = readSettings();
  const logger = createJsonLogger(commandLineLogLevel(settings));
  const opened = await openQuarantineStore(settings, logger);
  try {
    await action(opened.store);
  } finally {
    await opened.close();
  }
}

/** Returns the log level: warnings unless debug is set, because results go to stdout. */
function commandLineLogLevel(settings: Settings): LogLevel {
  return settings.logLevel === 'info' ? 'warn' : settings.logLevel;
}

/** Reads the version from the package.json above this file, in the source tree or under dist/. */
function readPackageVersion(): string {
  let folder = path.dirname(fileURLToPath(import.meta.url));
  for (let level = 0; level < 5; level++) {
    const candidate = path.join(folder, 'package.json');
    if (existsSync(candidate)) {
      const manifest = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (manifest.name === 'mailsweep' && manifest.version) {
        return manifest.version;
      }
    }
    folder = path.dirname(folder);
  }
  return 'unknown';
}

function readSettings(): Settings {
  // The one place the command line hands the environment to the settings module.
  return loadSettings(process.env);
}

function parsePositiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed <= 0) {
    throw new InvalidArgumentError('must be a positive whole number');
  }
  return parsed;
}

function reportFailure(thrown: unknown): number {
  const code = typeof thrown === 'object' && thrown !== null ? Reflect.get(thrown, 'code') : undefined;
  if (code === 'commander.helpDisplayed' || code === 'commander.version') {
    return EXIT_CLEAN;
  }
  if (typeof code === 'string' && code.startsWith('commander.')) {
    return EXIT_FAILED;
  }
  const error = toError(thrown);
  const prefix = error instanceof ScannerError ? `mailsweep: ${error.code}: ` : 'mailsweep: ';
  process.stderr.write(`${prefix}${error.message}\n`);
  return EXIT_FAILED;
}

/** True when two paths name the same file, through symbolic links too when both exist. */
function samePath(a: string, b: string): boolean {
  const resolve = (file: string) => {
    try {
      return realpathSync(file);
    } catch {
      return path.resolve(file);
    }
  };
  return resolve(a) === resolve(b);
}
