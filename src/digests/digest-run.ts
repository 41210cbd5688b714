import { odata, type TableClient } from '@azure/data-tables';
import { z } from 'zod';

import {
  ALL_PARTITION,
  rowKeyAtOrBefore,
  scopeFilter,
  type QuarantineSummary,
} from '../quarantine/quarantine-index.js';
import { ScannerError, toError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import {
  buildAdminSummary,
  buildRecipientDigest,
  MAX_DIGEST_ITEMS,
  type MailboxTally,
} from './digest-content.js';
import { recipientKey, type DigestState } from './digest-state.js';
import type { DigestTransport } from './digest-transport.js';
import type { SendLimiter } from './send-limiter.js';

/** Maximum age of the items a run reads, in days, also on a first run or after a long pause. */
export const MAX_DIGEST_LOOKBACK_DAYS = 7;

/** Maximum index rows one run reads; the next runs finish a larger backlog. */
export const MAX_DIGEST_SCANNED_ROWS = 1_000_000;

/**
 * How far each run reads back before the stored cursor, in milliseconds. An item is indexed a
 * moment after its quarantine time, so one stored while the previous run was reading could
 * otherwise fall behind the cursor unseen. Recipients' own times keep the overlap from sending an
 * item twice.
 * NOTE: an item indexed more than this late is never listed in a digest. Neither is one older than
 * the newest item already sent to its recipient. Both still show in the web interface.
 */
const CURSOR_OVERLAP_MS = 10 * 60_000;

/** Recipients sent between two writes of the hourly sent counter. */
const SENT_FLUSH_EVERY = 50;

const summaryRowSchema = z.object({
  id: z.string().regex(/^[0-9a-f]{32}$/),
  mailbox: z.string().min(3).max(320),
  sender: z.string().optional(),
  subject: z.string().optional(),
  category: z.enum(['clean', 'spam', 'phishing', 'malware', 'policy', 'unscannable']),
  receivedAt: z.string().optional(),
  quarantinedAt: z.iso.datetime({ offset: true }),
  expiresAt: z.string(),
  size: z.number(),
  releasedAt: z.string().optional(),
});

/** Options of {@link runDigests}. */
export interface DigestRunOptions {
  /** The quarantine index table (`quarantineindex`). */
  indexTable: TableClient;
  state: DigestState;
  transport: DigestTransport;
  limiter: SendLimiter;
  /** The sending mailbox (or the From address of .eml files), for the sent counter. */
  senderAddress: string;
  /** Base URL of the web interface, e.g. `https://contoso-mailsweep.azurewebsites.net`. */
  uiBaseUrl: string;
  /** Administrators who get the summary across mailboxes; may be empty. */
  adminRecipients: readonly string[];
  now: () => Date;
  /** Epoch milliseconds after which no further digest is started. */
  deadline: number;
  /** Minimum time between two digests to one recipient, in milliseconds. */
  minIntervalMs: number;
  logger: Logger;
}

/** Outcome of one digest run. */
export interface DigestRunResult {
  /** Recipients with new items. */
  recipients: number;
  /** Recipients with new items whose last digest is more recent than the interval. */
  deferred: number;
  digestsSent: number;
  /** Items listed in the digests sent. */
  itemsListed: number;
  failed: number;
  adminSummarySent: boolean;
  /** Reason the run stopped before every recipient got a digest; the next run sends the rest. */
  stoppedBy?: 'daily-limit' | 'deadline';
  rowsRead: number;
}

interface Pending {
  items: QuarantineSummary[];
  moreCount: number;
  newest: Date;
  oldest: Date;
}

/**
 * Sends each recipient with new quarantined items one digest, at most once per `minIntervalMs`,
 * and the administrators one summary. New means quarantined after the newest item of the
 * recipient's last digest and not released. A recipient's time is stored only after their digest
 * was sent, and the run cursor moves up to the oldest item that is still unsent (deferred by the
 * interval, failed, or left by a stop), so those are read again by the next run.
 */
export async function runDigests(options: DigestRunOptions): Promise<DigestRunResult> {
  const runStart = options.now();
  const cursor = await options.state.readCursor();
  const oldest = new Date(runStart.getTime() - MAX_DIGEST_LOOKBACK_DAYS * 86_400_000);
  const resumeAt = cursor === undefined ? undefined : new Date(cursor.getTime() - CURSOR_OVERLAP_MS);
  const windowStart = resumeAt === undefined || resumeAt < oldest ? oldest : resumeAt;
  const found = await collectNewItems(options.indexTable, windowStart, runStart);
  const result: DigestRunResult = {
    recipients: 0,
    deferred: 0,
    digestsSent: 0,
    itemsListed: 0,
    failed: 0,
    adminSummarySent: false,
    rowsRead: found.rowsRead,
  };

  const run: RunContext = {
    options,
    result,
    sent: new SentCounter(options),
    runStart,
    nextCursor: runStart,
  };
  // The sent counter is written even when a storage call fails, so the daily limit stays counted.
  try {
    // The summary goes first: it is one message, and administrators need it most when users'
    // digests are held back by the sending limits.
    if (options.adminRecipients.length > 0 && found.newestItem !== undefined) {
      await sendAdminSummary(run, found.byRecipient, found.newestItem, windowStart);
    }
    await sendRecipientDigests(run, found.byRecipient);
  } finally {
    await run.sent.flush();
  }

  // The cursor never moves back, and the overlap re-reads the items just before it.
  if (cursor === undefined || run.nextCursor > cursor) {
    await options.state.writeCursor(new Date(run.nextCursor.getTime() - 1));
  }
  options.logger.info('Digest run finished', {
    transport: options.transport.kind,
    recipients: result.recipients,
    digestsSent: result.digestsSent,
    failed: result.failed,
    adminSummarySent: result.adminSummarySent,
    deferred: result.deferred,
    stoppedBy: result.stoppedBy,
    rowsRead: result.rowsRead,
  });
  return result;
}

/** State shared by the steps of one run. */
interface RunContext {
  options: DigestRunOptions;
  result: DigestRunResult;
  sent: SentCounter;
  runStart: Date;
  /** Oldest item still unsent; the stored cursor moves up to it. */
  nextCursor: Date;
}

async function sendAdminSummary(
  run: RunContext,
  byRecipient: Map<string, QuarantineSummary[]>,
  newestItem: Date,
  windowStart: Date,
): Promise<void> {
  const { options, result } = run;
  const lastSummary = await options.state.readAdminSummaryTime();
  if (lastSummary !== undefined && newestItem <= lastSummary) {
    return;
  }
  const since = lastSummary !== undefined && lastSummary > windowStart ? lastSummary : windowStart;
  const tallies = tallyAfter(byRecipient, since);
  const mail = buildAdminSummary(options.adminRecipients, tallies, since, options.uiBaseUrl);
  const outcome = await trySend(options, mail, run.sent);
  if (outcome === 'ok') {
    await options.state.writeAdminSummaryTime(newestItem);
    result.adminSummarySent = true;
  } else if (outcome === 'failed') {
    result.failed += 1;
  } else {
    result.stoppedBy = outcome;
  }
}

async function sendRecipientDigests(
  run: RunContext,
  byRecipient: Map<string, QuarantineSummary[]>,
): Promise<void> {
  const { options, result } = run;
  const lastTimes = await options.state.readRecipientTimes();
  const holdBack = (pending: Pending): void => {
    run.nextCursor = pending.oldest < run.nextCursor ? pending.oldest : run.nextCursor;
  };

  for (const recipient of [...byRecipient.keys()].sort()) {
    const last = lastTimes.get(recipientKey(recipient));
    const pending = pendingFor(byRecipient.get(recipient) ?? [], last?.newestItemAt);
    if (pending === undefined) {
      continue;
    }
    result.recipients += 1;
    const sinceLastMs = last === undefined ? Infinity : run.runStart.getTime() - last.sentAt.getTime();
    if (result.stoppedBy !== undefined || sinceLastMs < options.minIntervalMs) {
      result.deferred += result.stoppedBy === undefined ? 1 : 0;
      holdBack(pending);
      continue;
    }

    const mail = buildRecipientDigest({ recipient, ...pending }, options.uiBaseUrl);
    const outcome = await trySend(options, mail, run.sent);
    if (outcome === 'ok') {
      await options.state.writeRecipientTime(recipient, {
        newestItemAt: pending.newest,
        sentAt: options.now(),
      });
      result.digestsSent += 1;
      result.itemsListed += pending.items.length;
      continue;
    }
    holdBack(pending);
    if (outcome === 'failed') {
      result.failed += 1;
    } else {
      result.stoppedBy = outcome;
    }
  }
}

/** Reads the `all` rows quarantined after `start` and up to `end`, grouped by mailbox. */
async function collectNewItems(
  table: TableClient,
  start: Date,
  end: Date,
): Promise<{
  byRecipient: Map<string, QuarantineSummary[]>;
  rowsRead: number;
  newestItem?: Date;
}> {
  const filter =
    scopeFilter(ALL_PARTITION, {
      newestRowKey: rowKeyAtOrBefore(end),
      oldestRowKey: rowKeyAtOrBefore(start),
    }) + odata` and RowKey ge ${rowKeyAtOrBefore(end)} and RowKey lt ${rowKeyAtOrBefore(start)}`;
  const byRecipient = new Map<string, QuarantineSummary[]>();
  let rowsRead = 0;
  let newestItem: Date | undefined;
  const pages = table.listEntities({ queryOptions: { filter } }).byPage({ maxPageSize: 1000 });
  for await (const page of pages) {
    for (const entity of page) {
      rowsRead += 1;
      const row = summaryRowSchema.safeParse(entity);
      if (!row.success || row.data.releasedAt !== undefined) {
        continue;
      }
      const item: QuarantineSummary = { ...row.data, signatures: [] };
      const quarantinedAt = new Date(item.quarantinedAt);
      newestItem = newestItem === undefined || quarantinedAt > newestItem ? quarantinedAt : newestItem;
      const list = byRecipient.get(row.data.mailbox) ?? [];
      list.push(item);
      byRecipient.set(row.data.mailbox, list);
    }
    if (rowsRead >= MAX_DIGEST_SCANNED_ROWS) {
      break;
    }
  }
  return { byRecipient, rowsRead, newestItem };
}

/** Counts each mailbox's items quarantined after `since`, by category. */
function tallyAfter(byRecipient: Map<string, QuarantineSummary[]>, since: Date): MailboxTally[] {
  const tallies: MailboxTally[] = [];
  for (const [mailbox, items] of byRecipient) {
    const tally: MailboxTally = { mailbox, total: 0, byCategory: {} };
    for (const item of items) {
      if (new Date(item.quarantinedAt) > since) {
        tally.total += 1;
        tally.byCategory[item.category] = (tally.byCategory[item.category] ?? 0) + 1;
      }
    }
    if (tally.total > 0) {
      tallies.push(tally);
    }
  }
  return tallies;
}

/** Returns a recipient's items newer than their last digest, newest first, or undefined if none. */
function pendingFor(items: QuarantineSummary[], lastDigestAt: Date | undefined): Pending | undefined {
  const fresh = items
    .filter((item) => lastDigestAt === undefined || new Date(item.quarantinedAt) > lastDigestAt)
    .sort((a, b) => b.quarantinedAt.localeCompare(a.quarantinedAt));
  const newest = fresh[0];
  const oldest = fresh.at(-1);
  if (newest === undefined || oldest === undefined) {
    return undefined;
  }
  return {
    items: fresh.slice(0, MAX_DIGEST_ITEMS),
    moreCount: Math.max(0, fresh.length - MAX_DIGEST_ITEMS),
    newest: new Date(newest.quarantinedAt),
    oldest: new Date(oldest.quarantinedAt),
  };
}

async function trySend(
  options: DigestRunOptions,
  mail: Parameters<DigestTransport['send']>[0],
  sent: SentCounter,
): Promise<'ok' | 'failed' | 'daily-limit' | 'deadline'> {
  const permit = await options.limiter.acquire(mail.to.length, options.deadline);
  if (permit !== 'ok') {
    return permit;
  }
  try {
    await options.transport.send(mail);
  } catch (error) {
    // The limiter already counted the message: a failed send may still have reached Exchange.
    // Graph's status and error code (for example 400 for MIME it cannot read) are in the fields.
    options.logger.warn('Digest send failed', {
      transport: options.transport.kind,
      recipients: mail.to.length,
      error: toError(error).message,
      ...(error instanceof ScannerError ? { code: error.code, ...error.fields } : {}),
    });
    return 'failed';
  }
  await sent.add(mail.to.length);
  return 'ok';
}

/** Counts recipients per hour in the state table, written every few sends and at the end. */
class SentCounter {
  private unsaved = 0;

  constructor(private readonly options: DigestRunOptions) {}

  async add(recipients: number): Promise<void> {
    this.unsaved += recipients;
    if (this.unsaved >= SENT_FLUSH_EVERY) {
      await this.flush();
    }
  }

  async flush(): Promise<void> {
    if (this.unsaved === 0) {
      return;
    }
    const count = this.unsaved;
    this.unsaved = 0;
    await this.options.state.addRecipientsSent(this.options.senderAddress, this.options.now(), count);
  }
}
