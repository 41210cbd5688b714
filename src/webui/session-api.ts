import type { TableClient } from '@azure/data-tables';
import { z } from 'zod';

import { ownAddresses, withOwnAddresses } from '../auth/own-addresses.js';
import type { AuthMode, Principal } from '../auth/principal.js';
import { requireUser } from '../auth/require-user.js';
import type { UserAddressDirectory } from '../auth/user-addresses.js';
import type { ApiHandler, ApiResponse } from '../functions-host/registry.js';
import { PartitionMerge } from '../quarantine/index-merge.js';
import { planListQuery } from '../quarantine/quarantine-access.js';
import type { QuarantineAuditLog } from '../quarantine/quarantine-audit.js';
import { scopeFilter } from '../quarantine/quarantine-index.js';
import { toError } from '../shared/errors.js';
import { parseQueryParams, rejectQueryParameters } from '../shared/http-input.js';

/**
 * Most index rows one counts request reads. Table storage has no count query, so counting means
 * reading rows; with only two columns selected this is 5 pages of 1,000. A larger quarantine
 * returns the counts of its newest rows with `complete: false`.
 */
export const MAX_COUNTED_ROWS = 5000;

/** Query of `GET /api/quarantine/counts`: it takes no parameters. */
export const countsQuerySchema = z.strictObject({});

const CATEGORIES = ['spam', 'phishing', 'malware', 'policy', 'unscannable', 'clean'] as const;

const countedRowSchema = z.object({
  category: z.enum(CATEGORIES),
  releasedAt: z.string().optional(),
});

/** Counts of quarantined items by category, over the caller's newest index rows. */
export interface CategoryCounts {
  /** Items still quarantined, by category. */
  counts: Record<(typeof CATEGORIES)[number], number>;
  /** Items read that were already released. */
  released: number;
  /** Items counted; an item in several of the caller's partitions counts once. */
  rowsRead: number;
  /** False when the caller has more rows than {@link MAX_COUNTED_ROWS}, so counts are a floor. */
  complete: boolean;
}

/** Dependencies of the web interface's own API routes. */
export interface SessionApiOptions {
  auth: AuthMode;
  /** The directory that lists a user's aliases, the one the quarantine API uses. Optional. */
  userAddresses?: UserAddressDirectory;
  /** The quarantine index table (`quarantineindex`). */
  indexTable: TableClient;
  audit: QuarantineAuditLog;
  now?: () => Date;
  /** Most index rows one counts request reads; default {@link MAX_COUNTED_ROWS}. */
  maxCountedRows?: number;
}

/** The handlers of `GET /api/quarantine/whoami` and `GET /api/quarantine/counts`. */
export interface SessionApi {
  whoami: ApiHandler;
  counts: ApiHandler;
}

const NO_STORE = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' };

/**
 * Creates the routes the web interface needs beside the quarantine API: who the caller is (to pick
 * the administrator or the user view and the sign-in method) and item counts by category.
 */
export function createSessionApi(options: SessionApiOptions): SessionApi {
  const now = options.now ?? (() => new Date());

  return {
    whoami: async (request, context) => {
      const auth = requireUser(request, options.auth);
      if ('response' in auth) {
        return withHeaders(signInResponse(auth.response, options.auth));
      }
      const invalidQuery = rejectQueryParameters(request.url.searchParams);
      if (invalidQuery !== undefined) {
        return withHeaders(invalidQuery);
      }
      const principal = await withOwnAddresses(auth.principal, options.userAddresses, context.log);
      return withHeaders({
        status: 200,
        json: {
          id: principal.id,
          mailbox: principal.mailbox,
          // Administrators see every item, so their own addresses are not looked up.
          addresses: principal.isAdmin ? undefined : ownAddresses(principal),
          isAdmin: principal.isAdmin,
          isReader: principal.isReader === true,
          signIn: options.auth.kind,
        },
      });
    },

    counts: async (request, context) => {
      const auth = requireUser(request, options.auth);
      if ('response' in auth) {
        return withHeaders(auth.response);
      }
      const query = parseQueryParams(request.url.searchParams, countsQuerySchema);
      if ('error' in query) {
        return withHeaders({ status: 400, json: { error: query.error } });
      }
      try {
        const principal = await withOwnAddresses(
          auth.principal,
          options.userAddresses,
          context.log,
        );
        const plan = planListQuery(principal, { limit: 1 });
        const counts =
          typeof plan === 'object' && 'partitionKeys' in plan
            ? await countCategories(options.indexTable, plan.partitionKeys, options.maxCountedRows)
            : emptyCounts();
        await options.audit.append({
          time: now().toISOString(),
          actorId: auth.principal.id,
          actorMailbox: auth.principal.mailbox,
          actorRole: roleOf(auth.principal),
          action: 'list',
          result: 'ok',
          detail: `counts rows=${counts.rowsRead}`,
        });
        return withHeaders({ status: 200, json: counts });
      } catch (error) {
        context.log('error', 'Quarantine counts failed', { error: toError(error).message });
        return withHeaders({
          status: 503,
          json: { error: 'Quarantine storage is unavailable; try again later' },
        });
      }
    },
  };
}

/**
 * Counts the items of index partitions by category, newest first, reading only the row key,
 * `category` and `releasedAt` columns. The partitions of a user's addresses are merged by row
 * key, so an item addressed to two of them counts once. At most `maxRows` items are counted.
 */
export async function countCategories(
  table: TableClient,
  partitionKeys: readonly string[],
  maxRows = MAX_COUNTED_ROWS,
): Promise<CategoryCounts> {
  const result = emptyCounts();
  const pageSize = Math.min(1000, maxRows + 1);
  const merge = new PartitionMerge(
    partitionKeys.map((partitionKey) =>
      table
        .listEntities({
          queryOptions: {
            filter: scopeFilter(partitionKey),
            select: ['RowKey', 'category', 'releasedAt'],
          },
        })
        .byPage({ maxPageSize: Math.max(10, Math.ceil(pageSize / partitionKeys.length)) })
        [Symbol.asyncIterator](),
    ),
    // Each partition may hold every counted item, so the read bound covers all of them.
    (maxRows + 1) * partitionKeys.length,
  );
  for (let entity = await merge.next(); entity !== undefined; entity = await merge.next()) {
    if (result.rowsRead >= maxRows) {
      result.complete = false;
      return result;
    }
    result.rowsRead += 1;
    const row = countedRowSchema.safeParse(entity);
    if (!row.success) {
      continue;
    }
    if (row.data.releasedAt !== undefined) {
      result.released += 1;
    } else {
      result.counts[row.data.category] += 1;
    }
  }
  return result;
}

function emptyCounts(): CategoryCounts {
  const counts = Object.fromEntries(CATEGORIES.map((category) => [category, 0]));
  return {
    counts: counts as CategoryCounts['counts'],
    released: 0,
    rowsRead: 0,
    complete: true,
  };
}

/**
 * Adds to a 401 how the interface signs in: with App Service authentication it sends the
 * browser to the platform's `/.auth/login/aad` route, and locally it requests a bearer token.
 */
function signInResponse(response: ApiResponse, auth: AuthMode): ApiResponse {
  return { ...response, json: { error: 'Sign-in required', signIn: auth.kind } };
}

function roleOf(principal: Principal): 'admin' | 'reader' | 'user' {
  if (principal.isAdmin) {
    return 'admin';
  }
  return principal.isReader === true ? 'reader' : 'user';
}

function withHeaders(response: ApiResponse): ApiResponse {
  return { ...response, headers: { ...NO_STORE, ...response.headers } };
}
