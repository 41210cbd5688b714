import cliProgress from 'cli-progress';
import Table from 'cli-table3';

import type { QuarantineMetadata } from '../quarantine/index.js';
import { toVisibleText } from '../shared/visible-text.js';
import type { ScanSummary } from './scan-run.js';

/** A progress bar on a terminal; on anything else (CI logs, pipes) it prints nothing. */
export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

/** Creates a progress bar on `stream` when it is a terminal. */
export function createProgress(stream: NodeJS.WriteStream): Progress {
  if (!stream.isTTY) {
    return { update: () => undefined, stop: () => undefined };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'scanning |{bar}| {value}/{total} messages | {eta_formatted} left',
      hideCursor: true,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let stopped = false;
  return {
    update(done, total) {
      if (!started) {
        bar.start(total, done);
        started = true;
      } else {
        bar.setTotal(total);
        bar.update(done);
      }
    },
    stop() {
      if (started && !stopped) {
        bar.stop();
        stopped = true;
      }
    },
  };
}

/** Table colours only on a terminal: escape codes would clutter logs and files. */
function tableStyle(stream: NodeJS.WritableStream): { head?: string[]; border?: string[] } {
  return (stream as NodeJS.WriteStream).isTTY ? {} : { head: [], border: [] };
}

/** Prints the end-of-run table. */
export function printSummary(summary: ScanSummary, stream: NodeJS.WritableStream): void {
  const seconds = summary.elapsedMs / 1000;
  const rate = seconds > 0 ? summary.scanned / seconds : 0;
  const table = new Table({
    head: ['scanned', 'clean', 'spam', 'phishing', 'malware', 'policy', 'unscannable', 'errors', 'skipped', 'quarantined', 'messages/s'],
    style: tableStyle(stream),
  });
  table.push([
    summary.scanned,
    summary.byCategory.clean,
    summary.byCategory.spam,
    summary.byCategory.phishing,
    summary.byCategory.malware,
    summary.byCategory.policy,
    summary.byCategory.unscannable,
    summary.errors,
    summary.skipped,
    summary.quarantined,
    rate.toFixed(1),
  ]);
  stream.write(`${table.toString()}\n`);
}

/** Prints quarantined items as a table: id, time, category, the deciding signature and source. */
export function printQuarantineTable(
  items: readonly QuarantineMetadata[],
  stream: NodeJS.WritableStream,
): void {
  const table = new Table({
    head: ['id', 'quarantined at', 'category', 'signature', 'mailbox or source'],
    style: tableStyle(stream),
  });
  for (const item of items) {
    const signature = item.verdict.findings.find((finding) => finding.category === item.verdict.category)?.signature ?? '';
    const source = item.mailbox ?? item.source ?? '';
    table.push([item.id, item.quarantinedAt, item.verdict.category, toVisibleText(signature), toVisibleText(source)]);
  }
  stream.write(`${table.toString()}\n${items.length} item(s)\n`);
}
