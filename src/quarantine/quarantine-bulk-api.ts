import { z } from 'zod';

import type { ApiResponse } from '../functions-host/registry.js';
import { ScannerError } from '../shared/errors.js';
import { listFilterSchema, planListQuery } from './quarantine-access.js';
import { parseJsonBody, type ApiKit, type Call } from './quarantine-api-kit.js';
import type { QuarantineIndex } from './quarantine-index.js';
import { quarantineIdSchema } from './quarantine-id.js';
import type { ReleaseHandlers } from './quarantine-release-api.js';

/**
 * Bulk release and delete: one request names items by id or by a list filter, and each item goes
 * through the same checks, mailbox operation and audit entry as the single-item route. The
 * number of items is bounded, so that one request cannot tie up a function instance. More ids, or
 * a filter matching more items, get 413 before anything changes.
 */

/** Body of `POST /api/quarantine/bulk`. */
export function bulkBodySchema(maxItems: number) {
  return z
    .strictObject({
      action: z.enum(['release', 'delete']),
      ids: z.array(quarantineIdSchema).min(1).optional(),
      filter: listFilterSchema.optional(),
    })
    .refine((body) => (body.ids === undefined) !== (body.filter === undefined), {
      message: 'give either ids or filter',
      path: ['ids'],
    })
    .refine((body) => body.ids === undefined || new Set(body.ids).size === body.ids.length, {
      message: 'must not repeat an id',
      path: ['ids'],
    })
    .describe(`Bulk action on at most ${maxItems} items`);
}

/** Result of one item of a bulk request. */
export interface BulkItemResult {
  id: string;
  /** HTTP status the single-item route would have returned. */
  status: number;
  error?: string;
  code?: string;
}

/** Dependencies of the bulk handler. */
export interface BulkDependencies {
  index: QuarantineIndex;
  maxItems: number;
  release: ReleaseHandlers;
  /** The single-item delete, run per item. */
  deleteItem(call: Call, id: string): Promise<ApiResponse>;
}

/** Creates the handler of `POST /api/quarantine/bulk`. */
export function createBulkHandler(kit: ApiKit, deps: BulkDependencies) {
  return async (call: Call): Promise<ApiResponse> => {
    const body = parseJsonBody(call.request, bulkBodySchema(deps.maxItems));
    if ('error' in body) {
      await kit.record(call, 'bulk', 'invalid');
      return { status: 400, json: { error: body.error } };
    }
    const { action, ids, filter } = body.value;
    let targets: string[];
    if (ids !== undefined) {
      targets = ids;
    } else {
      const plan = planListQuery(call.principal, { ...filter, limit: deps.maxItems + 1 });
      if (typeof plan === 'object' && 'invalid' in plan) {
        await kit.record(call, 'bulk', 'invalid');
        return { status: 400, json: { error: `invalid body: filter.${plan.invalid}` } };
      }
      // Reading one row past the limit distinguishes "exactly the limit" from "more than it".
      const page = plan === 'empty' ? { items: [] } : await deps.index.query({ ...plan, maxScannedRows: 10_000 });
      if ('after' in page && page.after !== undefined && page.items.length <= deps.maxItems) {
        await kit.record(call, 'bulk', 'invalid', { detail: 'filter-unbounded' });
        const error = 'The filter needs more rows read than one request may; narrow it';
        return { status: 413, json: { error, maxItems: deps.maxItems } };
      }
      targets = page.items.map((item) => item.id);
    }
    if (targets.length > deps.maxItems) {
      await kit.record(call, 'bulk', 'invalid', { detail: `count=${targets.length}` });
      const error = `A bulk request may act on at most ${deps.maxItems} items; narrow it or split it`;
      return { status: 413, json: { error, maxItems: deps.maxItems } };
    }

    const results: BulkItemResult[] = [];
    for (const id of targets) {
      results.push(await runOne(call, action, id));
    }
    const succeeded = results.filter((result) => result.status < 300).length;
    await kit.record(call, 'bulk', succeeded === results.length ? 'ok' : 'failed', {
      detail: `action=${action} count=${results.length} ok=${succeeded}`,
    });
    return { status: 200, json: { action, results } };
  };

  async function runOne(call: Call, action: 'release' | 'delete', id: string): Promise<BulkItemResult> {
    try {
      if (action === 'delete') {
        return toResult(id, await deps.deleteItem(call, id));
      }
      const metadata = await kit.readItemById(call, 'release', id);
      if ('status' in metadata) {
        return toResult(id, metadata);
      }
      return toResult(id, await deps.release.releaseItem(call, metadata, {}));
    } catch (error) {
      const code = error instanceof ScannerError ? error.code : 'unknown';
      const status = code === 'mailbox-throttled' || code === 'mailbox-unavailable' ? 503 : 502;
      return { id, status, error: 'The operation failed; the item is unchanged', code };
    }
  }
}

function toResult(id: string, response: ApiResponse): BulkItemResult {
  const json = (response.json ?? {}) as { error?: unknown; code?: unknown };
  return {
    id,
    status: response.status,
    error: typeof json.error === 'string' ? json.error : undefined,
    code: typeof json.code === 'string' ? json.code : undefined,
  };
}
