import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';

import type { AuthMode } from '../auth/principal.js';
import { requireReader } from '../auth/require-admin.js';
import type { ApiHandler } from '../functions-host/registry.js';
import { toError } from '../shared/errors.js';
import { parseQueryParams } from '../shared/http-input.js';
import { fromBoundSchema, toBoundSchema } from '../shared/time-bounds.js';
import {
  dayPartition,
  mailboxPartition,
  queryVerdictPage,
  type VerdictRecord,
} from './verdict-log.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Time range used when the request gives no `from`, in days before `to`. */
export const DEFAULT_RANGE_DAYS = 7;

/** Maximum range of a query across all mailboxes, in days, because each day is one partition read. */
export const MAX_ALL_MAILBOXES_RANGE_DAYS = 92;

/** Largest page a request may ask for. */
export const MAX_VERDICT_PAGE_SIZE = 500;

/** Query of `GET /api/verdicts`. */
export const verdictsQuerySchema = z.strictObject({
  mailbox: z.string().trim().min(1).max(320).optional(),
  category: z.enum(['clean', 'spam', 'phishing', 'malware', 'policy', 'unscannable']).optional(),
  from: fromBoundSchema.optional(),
  to: toBoundSchema.optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_VERDICT_PAGE_SIZE))
    .default(100),
  continuation: z.string().max(4096).regex(/^[A-Za-z0-9_-]+$/, 'must be a token from a previous page').optional(),
});

const tokenSchema = z.strictObject({
  p: z.string().regex(/^(m-[0-9a-f]{64}|d-[0-9]{8})$/),
  t: z.string().min(1).max(2048).optional(),
});

/** Options of {@link createVerdictsHandler}. */
export interface VerdictsHandlerOptions {
  /** The `verdicts` table. */
  table: TableClient;
  auth: AuthMode;
  /** Clock for the default range; default: the system clock. */
  now?: () => Date;
}

/**
 * Creates the handler of `GET /api/verdicts` (administrators and readers). Query parameters: `mailbox`,
 * `category`, `from` and `to`, `limit` (1 to 500, default 100) and `continuation` (the token of
 * the previous page). `from` and `to` are ISO 8601 date-times or dates, a date meaning a whole UTC
 * day, and default to the last 7 days. Entries come newest first.
 */
export function createVerdictsHandler(options: VerdictsHandlerOptions): ApiHandler {
  return async (request, context) => {
    const auth = requireReader(request, options.auth);
    if ('response' in auth) {
      return auth.response;
    }
    const plan = toQueryPlan(request.url.searchParams, (options.now ?? (() => new Date()))());
    if ('error' in plan) {
      return { status: 400, json: { error: plan.error } };
    }
    try {
      const page = await readPage(options.table, plan);
      context.log('info', 'verdicts listed', { count: page.verdicts.length, invocationId: context.invocationId });
      return { status: 200, json: page };
    } catch (error) {
      context.log('error', 'verdict query failed', { error: toError(error).message, invocationId: context.invocationId });
      return { status: 503, json: { error: 'the verdict log is unavailable; try again later' } };
    }
  };
}

interface QueryPlan {
  partitions: string[];
  /** Index into `partitions` and table token where the page starts. */
  startIndex: number;
  tableToken?: string;
  from: Date;
  to: Date;
  category?: VerdictRecord['category'];
  limit: number;
}

function toQueryPlan(params: URLSearchParams, now: Date): QueryPlan | { error: string } {
  const parsed = parseQueryParams(params, verdictsQuerySchema);
  if ('error' in parsed) {
    return parsed;
  }
  const query = parsed.value;
  const to = query.to === undefined ? now : new Date(query.to);
  const from = query.from === undefined ? new Date(to.getTime() - DEFAULT_RANGE_DAYS * DAY_MS) : new Date(query.from);
  if (from.getTime() > to.getTime()) {
    return { error: 'invalid query: from is later than to' };
  }
  let partitions: string[];
  if (query.mailbox !== undefined) {
    partitions = [mailboxPartition(query.mailbox)];
  } else {
    if (to.getTime() - from.getTime() > MAX_ALL_MAILBOXES_RANGE_DAYS * DAY_MS) {
      return { error: `invalid query: without mailbox, the range may span at most ${MAX_ALL_MAILBOXES_RANGE_DAYS} days` };
    }
    partitions = dayPartitions(from, to);
  }

  let startIndex = 0;
  let tableToken: string | undefined;
  if (query.continuation !== undefined) {
    const token = decodeToken(query.continuation);
    startIndex = token === undefined ? -1 : partitions.indexOf(token.p);
    if (token === undefined || startIndex < 0) {
      return { error: 'invalid query: continuation does not belong to this query' };
    }
    tableToken = token.t;
  }
  return { partitions, startIndex, tableToken, from, to, category: query.category, limit: query.limit };
}

/** Day partitions from the newest day to the oldest. */
function dayPartitions(from: Date, to: Date): string[] {
  const days: string[] = [];
  const first = Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate());
  for (let day = to.getTime(); day >= first; day -= DAY_MS) {
    days.push(dayPartition(new Date(day)));
  }
  const oldest = dayPartition(from);
  if (days.at(-1) !== oldest) {
    days.push(oldest);
  }
  return days;
}

async function readPage(
  table: TableClient,
  plan: QueryPlan,
): Promise<{ verdicts: VerdictRecord[]; continuation?: string }> {
  const verdicts: VerdictRecord[] = [];
  let tableToken = plan.tableToken;
  for (let index = plan.startIndex; index < plan.partitions.length; index += 1) {
    const partitionKey = plan.partitions[index] as string;
    do {
      const page = await queryVerdictPage(table, {
        partitionKey,
        from: plan.from,
        to: plan.to,
        category: plan.category,
        maxPageSize: plan.limit - verdicts.length,
        continuationToken: tableToken,
      });
      verdicts.push(...page.records);
      tableToken = page.continuationToken;
      if (verdicts.length >= plan.limit) {
        const next = tableToken !== undefined ? { p: partitionKey, t: tableToken } : nextPartition(plan, index);
        return next === undefined ? { verdicts } : { verdicts, continuation: encodeToken(next) };
      }
    } while (tableToken !== undefined);
  }
  return { verdicts };
}

function nextPartition(plan: QueryPlan, index: number): { p: string } | undefined {
  const partition = plan.partitions[index + 1];
  return partition === undefined ? undefined : { p: partition };
}

function encodeToken(token: z.infer<typeof tokenSchema>): string {
  return Buffer.from(JSON.stringify(token), 'utf8').toString('base64url');
}

function decodeToken(value: string): z.infer<typeof tokenSchema> | undefined {
  try {
    const parsed = tokenSchema.safeParse(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
