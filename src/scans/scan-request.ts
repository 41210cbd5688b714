import { z } from 'zod';

/**
 * The body of `POST /api/scans`, also the format of the scheduled scan's setting. A scan names its
 * mailboxes (a list, an Entra group, or every monitored and on-premises mailbox), a time window,
 * the folders and whether to act on what it finds.
 */

const DAY_MS = 24 * 60 * 60 * 1000;

/** Mailboxes listed in one request; a larger scope is a group or `all`. */
export const MAX_SCOPE_MAILBOXES = 5000;

/** Folder names in one request. */
const MAX_FOLDER_NAMES = 100;

const mailbox = z
  .string()
  .trim()
  .min(3)
  .max(320)
  .regex(/^[^\s@]+@[^\s@]+$/, 'must be an SMTP address like a@contoso.com')
  .transform((value) => value.toLowerCase());

const scopeSchema = z.union([
  z.strictObject({ mailboxes: z.array(mailbox).min(1).max(MAX_SCOPE_MAILBOXES) }),
  z.strictObject({ group: z.string().trim().min(1).max(200).regex(/^[0-9a-fA-F-]{36}$/, 'must be an Entra group object id') }),
  z.strictObject({ all: z.literal(true) }),
]);

const windowSchema = z.union([
  z.strictObject({ since: z.iso.datetime({ offset: true }), until: z.iso.datetime({ offset: true }).optional() }),
  z.strictObject({ modifiedInLastDays: z.number().int().min(1).max(3650) }),
]);

/** Body of a scan request, before the window is checked against the clock and the maximum span. */
export const scanRequestSchema = z.strictObject({
  scope: scopeSchema,
  window: windowSchema,
  /** `all`, or folder names: well-known names (`inbox`) or display paths (`Inbox/Projects`). */
  folders: z
    .union([z.literal('all'), z.array(z.string().trim().min(1).max(1024)).min(1).max(MAX_FOLDER_NAMES)])
    .default('all'),
  includeArchive: z.boolean().default(false),
  includeRecoverableItems: z.boolean().default(false),
  mode: z.enum(['report', 'act']).default('report'),
  /** Rescan only what changed since this mailbox's previous incremental scan (delta / SyncFolderItems). */
  incremental: z.boolean().default(false),
  /** Rescan messages that scan on arrival already finished, and act on what is found now. */
  retro: z.boolean().default(false),
});

export type ScanRequest = z.infer<typeof scanRequestSchema>;
export type ScanScope = ScanRequest['scope'];

/** A scan request with its window fixed to absolute times. */
export interface ScanDefinition extends Omit<ScanRequest, 'window'> {
  /** ISO 8601 start of the window (received at or after). */
  since: string;
  /** ISO 8601 end of the window (received before). */
  until: string;
  /** True when the window is a last-modified window (EWS applies it; Graph lists a superset). */
  byModifiedTime: boolean;
}

/** The outcome of checking a request: the definition, or the field and reason it failed on. */
export type ScanRequestCheck =
  | { ok: true; definition: ScanDefinition }
  | { ok: false; field: string; message: string };

/**
 * Checks a request body and fixes its window: `since` must not be after `until` or in the future,
 * and the span must not exceed `maxWindowDays`. `until` defaults to `now`.
 */
export function checkScanRequest(body: unknown, now: Date, maxWindowDays: number): ScanRequestCheck {
  const parsed = scanRequestSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue === undefined || issue.path.length === 0 ? '(body)' : issue.path.join('.');
    return { ok: false, field, message: issue?.message ?? 'invalid' };
  }
  const request = parsed.data;
  let since: Date;
  let until: Date;
  if ('modifiedInLastDays' in request.window) {
    until = now;
    since = new Date(now.getTime() - request.window.modifiedInLastDays * DAY_MS);
  } else {
    since = new Date(request.window.since);
    until = request.window.until === undefined ? now : new Date(request.window.until);
  }
  if (since.getTime() > now.getTime()) {
    return { ok: false, field: 'window.since', message: 'is in the future' };
  }
  if (since.getTime() >= until.getTime()) {
    return { ok: false, field: 'window.since', message: 'must be before window.until' };
  }
  if (until.getTime() - since.getTime() > maxWindowDays * DAY_MS) {
    return {
      ok: false,
      field: 'window',
      message: `spans more than ${maxWindowDays} days (MAILSWEEP_SCAN_MAX_WINDOW_DAYS)`,
    };
  }
  const { window, ...rest } = request;
  return {
    ok: true,
    definition: {
      ...rest,
      since: since.toISOString(),
      // A window ending in the future ends now, so the scan covers a fixed set of messages.
      until: new Date(Math.min(until.getTime(), now.getTime())).toISOString(),
      byModifiedTime: 'modifiedInLastDays' in window,
    },
  };
}
