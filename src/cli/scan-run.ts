import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';

import type { QuarantineStore } from '../quarantine/index.js';
import type { MessageScanner, ScanResult } from '../scanning/message-scanner.js';
import { describeParseFailure } from '../scanning/pipeline.js';
import type { Category, Finding, Verdict } from '../scanning/types.js';
import { ScannerError, toError } from '../shared/errors.js';
import { describeFileError } from '../shared/file-errors.js';
import type { Logger } from '../shared/logger.js';
import { toVisibleJson } from '../shared/visible-text.js';
import { listMailFiles, readMessages, type SourceMessage } from './message-source.js';

/** One line of the `--report` file. */
export interface ReportLine {
  source: string;
  category?: Category;
  action?: string;
  findings?: Finding[];
  spamScore?: number;
  defects?: string[];
  quarantineId?: string;
  /** Name of the administrator rule that decided the verdict, when one did. */
  decidingRule?: string;
  /** Mailbox actions the rules asked for (tag, notify, remove an attachment...); may be empty. */
  ruleActions?: Verdict['ruleActions'];
  /** Reason the message could not be read, scanned or quarantined. */
  error?: string;
  /** Reason a path was not read, such as a symbolic link to a folder. It is not an error. */
  skipped?: string;
}

/** Counts shown in the summary table. */
export interface ScanSummary {
  scanned: number;
  byCategory: Record<Category, number>;
  errors: number;
  /** Paths not read on purpose, such as symbolic links to folders. */
  skipped: number;
  quarantined: number;
  elapsedMs: number;
}

/** Inputs of {@link scanPaths}. */
export interface ScanPathsOptions {
  inputs: readonly string[];
  /**
   * Starts the scanner with `workers` worker processes, at most `maxWorkers`. It is called once
   * the first messages are read, and not at all when there is nothing to scan; scanPaths closes it.
   */
  openScanner: (workers: number) => Promise<MessageScanner>;
  /** Most worker processes to start. */
  maxWorkers: number;
  /** Messages in flight at once; at least `maxWorkers`. */
  concurrency: number;
  /** Store for quarantined messages; undefined scans without quarantining. */
  store?: QuarantineStore;
  /** JSON Lines report file, one object per message. */
  reportPath?: string;
  maxFileBytes: number;
  logger: Logger;
  /** Called once the number of messages is known, then after each message. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Scans every message under the given paths, quarantines what the verdicts say and writes the
 * report. One bad file or message never stops the run: it becomes an `error` line.
 */
export async function scanPaths(options: ScanPathsOptions): Promise<ScanSummary> {
  const started = performance.now();
  const files = await listMailFiles(options.inputs);
  const summary = emptySummary();
  const report = options.reportPath ? await openReport(options.reportPath) : undefined;
  let done = 0;
  options.onProgress?.(0, files.length);

  // Messages are scanned `concurrency` at a time and reported in input order.
  const inFlight: Promise<ReportLine>[] = [];
  const settleOldest = async (): Promise<void> => {
    const line = await (inFlight.shift() as Promise<ReportLine>);
    countLine(summary, line);
    await writeLine(report, line);
    done += 1;
    options.onProgress?.(done, Math.max(done, files.length));
  };
  const messages = readMessages(files, {
    maxFileBytes: options.maxFileBytes,
    onEmptyMbox: (file) => options.logger.warn('mbox file contains no messages', { source: file }),
  });
  let scanner: MessageScanner | undefined;
  try {
    // Starting a worker costs about 1.8 s of CPU (measured with Node 20.20 on 2 cores). So the
    // first `maxWorkers` messages are read before any worker starts, and a run of a few messages
    // starts only as many workers as it has messages.
    const firstMessages = await readAhead(messages, options.maxWorkers);
    const scannable = firstMessages.filter((message) => 'raw' in message).length;
    scanner = scannable > 0 ? await options.openScanner(scannable) : undefined;
    for await (const message of prepend(firstMessages, messages)) {
      inFlight.push(scanOne(message, scanner, options));
      if (inFlight.length >= options.concurrency) {
        await settleOldest();
      }
    }
    while (inFlight.length > 0) {
      await settleOldest();
    }
  } finally {
    await scanner?.close();
    if (report) {
      report.end();
      await once(report, 'finish');
    }
  }
  summary.elapsedMs = performance.now() - started;
  return summary;
}

/** Reads up to `count` items, leaving the rest in the generator. */
async function readAhead<T>(items: AsyncGenerator<T>, count: number): Promise<T[]> {
  const read: T[] = [];
  while (read.length < count) {
    const next = await items.next();
    if (next.done === true) {
      break;
    }
    read.push(next.value);
  }
  return read;
}

async function* prepend<T>(first: readonly T[], rest: AsyncGenerator<T>): AsyncGenerator<T> {
  yield* first;
  yield* rest;
}

async function scanOne(
  message: SourceMessage,
  scanner: MessageScanner | undefined,
  options: ScanPathsOptions,
): Promise<ReportLine> {
  if ('error' in message) {
    options.logger.warn('message file unreadable', { source: message.source, error: message.error });
    return { source: message.source, error: message.error };
  }
  if ('skipped' in message) {
    options.logger.warn('path skipped', { source: message.source, reason: message.skipped });
    return { source: message.source, skipped: message.skipped };
  }
  let outcome: ScanResult;
  try {
    if (scanner === undefined) {
      throw new Error('no scanner was started');
    }
    outcome = await scanner.scan(message.raw, { source: message.source });
  } catch (thrown: unknown) {
    // Scanners resolve for any input; reaching this is a bug, reported as unscannable.
    const error = toError(thrown);
    options.logger.error('scan failed', { source: message.source, error: error.message });
    return { source: message.source, category: 'unscannable', action: 'quarantine', error: error.message };
  }

  const { verdict } = outcome;
  const line: ReportLine = {
    source: message.source,
    category: verdict.category,
    action: verdict.action,
    findings: verdict.findings,
  };
  const parseFailure = describeParseFailure(verdict.findings);
  if (parseFailure) {
    line.error = parseFailure;
  }
  if (verdict.spam) {
    line.spamScore = Math.round(verdict.spam.score * 10000) / 10000;
  }
  if (outcome.defects.length > 0) {
    line.defects = outcome.defects;
  }
  if (verdict.decidingRule !== undefined) {
    line.decidingRule = verdict.decidingRule;
  }
  line.ruleActions = verdict.ruleActions ?? [];
  if (options.store && (verdict.action === 'quarantine' || verdict.action === 'delete')) {
    await quarantineOne(message.raw, message.source, outcome, options.store, options.logger, line);
  }
  return line;
}

/** Stores the message and reads it back; the message counts as quarantined only once verified. */
async function quarantineOne(
  raw: Uint8Array,
  source: string,
  outcome: ScanResult,
  store: QuarantineStore,
  logger: Logger,
  line: ReportLine,
): Promise<void> {
  const { summary } = outcome;
  try {
    const { id } = await store.put(raw, {
      source,
      internetMessageId: summary.internetMessageId,
      sender: summary.sender,
      recipients: summary.recipients,
      subject: summary.subject,
      receivedAt: summary.sentAt,
      verdict: outcome.verdict,
    });
    await store.verify(id);
    line.quarantineId = id;
  } catch (thrown: unknown) {
    const error = toError(thrown);
    logger.error('quarantine failed', { source, error: error.message });
    line.error = [line.error, `quarantine failed: ${error.message}`].filter(Boolean).join('; ');
  }
}

/**
 * Opens the report file before any scanning, so that a bad path fails the run at once.
 * @throws ScannerError `input-unreadable` naming the path when the file cannot be created.
 */
async function openReport(reportPath: string): Promise<WriteStream> {
  const stream = createWriteStream(reportPath);
  try {
    await once(stream, 'open');
  } catch (error: unknown) {
    throw new ScannerError(
      'input-unreadable',
      `cannot create report file ${reportPath}: it ${describeFileError(error)}; name a file in an existing folder`,
      { cause: error },
    );
  }
  return stream;
}

function emptySummary(): ScanSummary {
  return {
    scanned: 0,
    byCategory: { clean: 0, spam: 0, phishing: 0, malware: 0, policy: 0, unscannable: 0 },
    errors: 0,
    skipped: 0,
    quarantined: 0,
    elapsedMs: 0,
  };
}

function countLine(summary: ScanSummary, line: ReportLine): void {
  if (line.category) {
    summary.scanned += 1;
    summary.byCategory[line.category] += 1;
  }
  if (line.error) {
    summary.errors += 1;
  }
  if (line.skipped) {
    summary.skipped += 1;
  }
  if (line.quarantineId) {
    summary.quarantined += 1;
  }
}

async function writeLine(report: WriteStream | undefined, line: ReportLine): Promise<void> {
  if (report && !report.write(`${toVisibleJson(line)}\n`)) {
    await once(report, 'drain');
  }
}
