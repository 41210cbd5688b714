import { z } from 'zod';

import { parseQueryParams } from '../shared/http-input.js';
import {
  auditDayPartition,
  auditItemPartition,
  type AuditEntry,
  type QuarantineAuditLog,
} from './quarantine-audit.js';
import { quarantineIdSchema } from './quarantine-id.js';

/** Largest page of the audit endpoint. */
export const MAX_AUDIT_PAGE_SIZE = 500;

/** Query parameters of `GET /api/quarantine/audit`: one day or one item, newest first. */
export const auditQuerySchema = z.strictObject({
  day: z.iso.date().optional(),
  id: quarantineIdSchema.optional(),
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_AUDIT_PAGE_SIZE))
    .default(100),
  continuation: z
    .string()
    .regex(/^[0-9]{13}-[0-9a-f]{16}$/, 'must be a token from a previous page')
    .optional(),
});

/**
 * Reads one page of the audit log: the entries of `id` when given, else those of `day` (UTC,
 * default today). The continuation is the last row key, which only positions within the chosen
 * partition.
 */
export async function readAuditPage(
  audit: QuarantineAuditLog,
  params: URLSearchParams,
  now: Date,
): Promise<{ entries: AuditEntry[]; continuation?: string } | { error: string }> {
  const parsed = parseQueryParams(params, auditQuerySchema);
  if ('error' in parsed) {
    return parsed;
  }
  const query = parsed.value;
  if (query.day !== undefined && query.id !== undefined) {
    return { error: 'invalid query: day, id: give one or the other' };
  }
  const partition =
    query.id === undefined
      ? auditDayPartition(query.day === undefined ? now : new Date(`${query.day}T00:00:00Z`))
      : auditItemPartition(query.id);
  const page = await audit.read(partition, query.limit, query.continuation);
  return { entries: page.entries, continuation: page.after };
}
