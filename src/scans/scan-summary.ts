import { describeScanError } from './scan-errors.js';
import type { ProgressRow, ScanItem, ScanRecord } from './scan-store.js';

/** Progress of a scan as `GET /api/scans/{id}` returns it. */
export interface ScanSummary {
  scanId: string;
  status: 'running' | 'done' | 'cancelled';
  trigger: ScanRecord['trigger'];
  createdAt: string;
  createdBy: string;
  definition: ScanRecord['definition'];
  mailboxes: { total: number; done: number; failed: number; running: number; queued: number; cancelled: number };
  messages: { scanned: number; skipped: number; errors: number };
  /** Messages scanned per category. */
  findings: Record<string, number>;
  /** Mailboxes that failed or could not be covered fully, with a code and its meaning. */
  errors: Array<{ mailbox: string; code: string; message: string }>;
  /** Messages finished per second since the first mailbox started. */
  ratePerSecond: number;
  /** Estimate from the rate and the messages per finished mailbox; absent until one is finished. */
  estimatedSecondsLeft?: number;
  finishedAt?: string;
}

/** Sums the mailboxes' progress rows into the scan's progress. */
export function summarizeScan(scan: ScanRecord, rows: readonly ProgressRow[], now: Date): ScanSummary {
  const mailboxes = { total: scan.mailboxCount, done: 0, failed: 0, running: 0, queued: 0, cancelled: 0 };
  const messages = { scanned: 0, skipped: 0, errors: 0 };
  const findings: Record<string, number> = {};
  const errors: ScanSummary['errors'] = [];
  let firstStart: number | undefined;
  let lastUpdate: number | undefined;
  let finishedMessages = 0;

  for (const { progress } of rows) {
    mailboxes[progress.status] += 1;
    messages.scanned += progress.scanned;
    messages.skipped += progress.skipped;
    messages.errors += progress.errors;
    for (const [category, count] of Object.entries(progress.byCategory)) {
      findings[category] = (findings[category] ?? 0) + count;
    }
    if (progress.errorCode !== undefined) {
      errors.push({
        mailbox: progress.mailbox,
        code: progress.errorCode,
        message: progress.errorMessage ?? describeScanError(progress.errorCode),
      });
    }
    for (const note of progress.notes ?? []) {
      errors.push({ mailbox: progress.mailbox, code: note, message: describeNote(note) });
    }
    const total = progress.scanned + progress.skipped + progress.errors;
    if (progress.status === 'done') {
      finishedMessages += total;
    }
    const started = progress.startedAt === undefined ? Number.NaN : Date.parse(progress.startedAt);
    if (Number.isFinite(started)) {
      firstStart = Math.min(firstStart ?? started, started);
    }
    const updated = progress.updatedAt === undefined ? Number.NaN : Date.parse(progress.updatedAt);
    if (Number.isFinite(updated) && progress.status !== 'queued') {
      lastUpdate = Math.max(lastUpdate ?? updated, updated);
    }
  }

  const open = mailboxes.running + mailboxes.queued;
  let status: ScanSummary['status'] = open === 0 ? 'done' : 'running';
  if (scan.status === 'cancelled') {
    status = 'cancelled';
  }
  const processed = messages.scanned + messages.skipped + messages.errors;
  const end = status === 'running' ? now.getTime() : (lastUpdate ?? now.getTime());
  const seconds = firstStart === undefined ? 0 : Math.max(0.001, (end - firstStart) / 1000);
  const ratePerSecond = seconds === 0 ? 0 : round(processed / seconds);

  const summary: ScanSummary = {
    scanId: scan.scanId,
    status,
    trigger: scan.trigger,
    createdAt: scan.createdAt,
    createdBy: scan.createdBy,
    definition: scan.definition,
    mailboxes,
    messages,
    findings,
    errors,
    ratePerSecond,
  };
  const finishedMailboxes = mailboxes.done;
  if (status === 'running' && finishedMailboxes > 0 && ratePerSecond > 0) {
    const perMailbox = finishedMailboxes === 0 ? 0 : finishedMessages / finishedMailboxes;
    const inOpen = processed - finishedMessages;
    const left = Math.max(0, open * perMailbox - inOpen);
    summary.estimatedSecondsLeft = Math.round(left / ratePerSecond);
  }
  if (status !== 'running' && lastUpdate !== undefined) {
    summary.finishedAt = new Date(lastUpdate).toISOString();
  }
  return summary;
}

/** Columns of the CSV report, in order. */
export const REPORT_COLUMNS = [
  'mailbox',
  'folder',
  'receivedAt',
  'outcome',
  'category',
  'action',
  'rule',
  'quarantineId',
  'error',
] as const;

/** Renders report rows as CSV (RFC 4180), with a header line. */
export function toCsv(items: readonly ScanItem[]): string {
  const lines = [REPORT_COLUMNS.join(',')];
  for (const item of items) {
    lines.push(REPORT_COLUMNS.map((column) => csvField(item[column])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

function csvField(value: string | undefined): string {
  if (value === undefined) {
    return '';
  }
  // Folder names come from mailbox users: a leading =, +, - or @ would run as a spreadsheet
  // formula, so such a field gets a leading apostrophe.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function describeNote(note: string): string {
  switch (note) {
    case 'archive-unreachable':
      return 'Graph cannot open the archive mailbox; scan it over EWS on premises or leave includeArchive off';
    case 'folder-not-found':
      return 'A folder named in the request does not exist in this mailbox';
    default:
      return note;
  }
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
