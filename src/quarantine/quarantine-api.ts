import type { AuthMode, Principal } from '../auth/principal.js';
import { requireUser } from '../auth/require-user.js';
import type { ScanLimits } from '../config/settings.js';
import type {
  ApiHandler,
  ApiRequest,
  ApiResponse,
  HandlerContext,
} from '../functions-host/registry.js';
import { ScannerError, toError } from '../shared/errors.js';
import {
  encodeContinuation,
  listQuerySchema,
  mayDelete,
  mayRead,
  planListQuery,
} from './quarantine-access.js';
import type {
  AuditAction,
  AuditEntry,
  AuditResult,
  QuarantineAuditLog,
} from './quarantine-audit.js';
import { readAuditPage } from './quarantine-audit-api.js';
import { quarantineIdSchema } from './quarantine-id.js';
import type { QuarantineIndex } from './quarantine-index.js';
import { buildPreview } from './quarantine-preview.js';
import { releaseByMove, type ReleaseTarget } from './quarantine-release.js';
import { removeQuarantineItem, toIndexedItem } from './quarantine-removal.js';
import type { QuarantineMetadata, QuarantineStore } from './quarantine-types.js';

/**
 * Largest message previewed, in bytes. A preview extracts the whole message in the function's
 * own process, so larger items return metadata only and can still be downloaded.
 */
export const MAX_PREVIEW_MESSAGE_BYTES = 32 * 1024 * 1024;

/** Headers on every response: nothing is cached, nothing is sniffed into another type. */
const SAFE_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/** Dependencies of {@link createQuarantineApi}. */
export interface QuarantineApiOptions {
  store: QuarantineStore;
  index: QuarantineIndex;
  audit: QuarantineAuditLog;
  auth: AuthMode;
  /** Limits for the preview's extraction; the scan limits from settings. */
  limits: ScanLimits;
  /** Clock for audit entries; default: the system clock. */
  now?: () => Date;
  /** The mailbox side of a release. Without it, the release route returns 501. */
  releaseTarget?: () => Promise<ReleaseTarget>;
}

/** The handlers of the quarantine routes. */
export interface QuarantineApi {
  /** `GET /api/quarantine/items` */
  list: ApiHandler;
  /** `GET` and `DELETE /api/quarantine/items/{id}` */
  item: ApiHandler;
  /** `GET /api/quarantine/items/{id}/message` */
  message: ApiHandler;
  /** `POST /api/quarantine/items/{id}/release` */
  release: ApiHandler;
  /** `GET /api/quarantine/audit` (administrators) */
  audit: ApiHandler;
}

interface Call {
  principal: Principal;
  request: ApiRequest;
  context: HandlerContext;
}

/**
 * Creates the quarantine API. Every request is authenticated, every query validated with zod
 * (400 naming the field), and every action appended to the audit log. An item the caller may not
 * see returns 404, exactly as an unknown id does, so that ids of other users' items do not leak.
 */
export function createQuarantineApi(options: QuarantineApiOptions): QuarantineApi {
  const now = options.now ?? (() => new Date());

  const authenticated =
    (run: (call: Call) => Promise<ApiResponse>): ApiHandler =>
    async (request, context) => {
      const auth = requireUser(request, options.auth);
      if ('response' in auth) {
        return withSafeHeaders(auth.response);
      }
      try {
        return withSafeHeaders(await run({ principal: auth.principal, request, context }));
      } catch (error) {
        return withSafeHeaders(toErrorResponse(error, context));
      }
    };

  const record = async (
    call: Call,
    action: AuditAction,
    result: AuditResult,
    extra: { quarantineId?: string; detail?: string } = {},
  ): Promise<void> => {
    await options.audit.append(toAuditEntry(call, action, result, now(), extra));
  };

  /** Reads an item for the caller, or returns the 404 or 400 to send instead. */
  const readItem = async (
    call: Call,
    action: AuditAction,
  ): Promise<QuarantineMetadata | ApiResponse> => {
    const parsedId = quarantineIdSchema.safeParse(call.request.params.id);
    if (!parsedId.success) {
      await record(call, action, 'invalid');
      return { status: 400, json: { error: 'id: must be 32 lowercase hex characters' } };
    }
    const id = parsedId.data;
    let metadata: QuarantineMetadata | undefined;
    try {
      metadata = await options.store.getMetadata(id);
    } catch (error) {
      if (!(error instanceof ScannerError && error.code === 'quarantine-not-found')) {
        throw error;
      }
    }
    if (metadata === undefined || !mayRead(call.principal, metadata)) {
      await record(call, action, 'not-found', { quarantineId: id });
      return notFound();
    }
    return metadata;
  };

  return {
    list: authenticated(async (call) => {
      const query = parseQuery(call.request.url.searchParams);
      if ('error' in query) {
        await record(call, 'list', 'invalid');
        return { status: 400, json: { error: query.error } };
      }
      const plan = planListQuery(call.principal, query.value);
      if (typeof plan === 'object' && 'invalid' in plan) {
        await record(call, 'list', 'invalid');
        return { status: 400, json: { error: `invalid query: ${plan.invalid}` } };
      }
      const page = plan === 'empty' ? { items: [] } : await options.index.query(plan);
      const filters = Object.keys(query.value).filter((key) => key !== 'limit').sort().join(',');
      await record(call, 'list', 'ok', { detail: `filters=${filters} count=${page.items.length}` });
      call.context.log('info', 'Quarantine items listed', { count: page.items.length });
      const after = 'after' in page ? page.after : undefined;
      const continuation = after === undefined ? undefined : encodeContinuation(after);
      return { status: 200, json: { items: page.items, continuation } };
    }),

    item: authenticated(async (call) => {
      if (call.request.method === 'DELETE') {
        return deleteItem(call);
      }
      const metadata = await readItem(call, 'preview');
      if ('status' in metadata) {
        return metadata;
      }
      let preview = null;
      let previewUnavailable: string | undefined;
      if (metadata.size > MAX_PREVIEW_MESSAGE_BYTES) {
        previewUnavailable = 'message-too-large';
      } else {
        const raw = await options.store.getContent(metadata.id);
        preview = await buildPreview(raw, metadata.verdict.findings, options.limits);
      }
      const row = await options.index.findRow(metadata);
      await record(call, 'preview', 'ok', { quarantineId: metadata.id });
      const item = { ...metadata, releasedAt: row?.releasedAt };
      return { status: 200, json: { item, preview, previewUnavailable } };
    }),

    message: authenticated(async (call) => {
      const metadata = await readItem(call, 'download');
      if ('status' in metadata) {
        return metadata;
      }
      // getContent checks size and SHA-256 before any byte is sent, so a damaged copy is a 500
      // rather than a download that looks complete.
      const raw = await options.store.getContent(metadata.id);
      await record(call, 'download', 'ok', { quarantineId: metadata.id });
      return {
        status: 200,
        headers: {
          'content-type': 'application/octet-stream',
          'content-disposition': `attachment; filename="${metadata.id}.eml"`,
          'content-length': String(raw.byteLength),
        },
        body: raw,
      };
    }),

    release: authenticated(async (call) => releaseItem(call)),

    audit: authenticated(async (call) => {
      if (!call.principal.isAdmin) {
        return { status: 403, json: { error: 'Administrators only' } };
      }
      const page = await readAuditPage(options.audit, call.request.url.searchParams, now());
      if ('error' in page) {
        return { status: 400, json: { error: page.error } };
      }
      await record(call, 'audit-read', 'ok', { detail: `count=${page.entries.length}` });
      return { status: 200, json: page };
    }),
  };

  async function releaseItem(call: Call): Promise<ApiResponse> {
    const metadata = await readItem(call, 'release');
    if ('status' in metadata) {
      return metadata;
    }
    const refusal = releaseRefusal(call.principal, metadata);
    if (refusal !== undefined) {
      await record(call, 'release', 'forbidden', { quarantineId: metadata.id });
      return { status: 403, json: { error: refusal } };
    }
    if (options.releaseTarget === undefined) {
      return { status: 501, json: { error: 'Release is not configured on this host' } };
    }
    let row = await options.index.findRow(metadata);
    if (row?.releasedAt !== undefined) {
      await record(call, 'release', 'invalid', { quarantineId: metadata.id, detail: 'released' });
      const error = 'The item was already released';
      return { status: 409, json: { error, releasedAt: row.releasedAt } };
    }
    if (row === undefined) {
      // An item stored before the index existed gets its rows now, so the release can be marked.
      await options.index.add(metadata);
      row = await options.index.findRow(metadata);
    }

    let outcome;
    try {
      outcome = await releaseByMove(metadata, await options.releaseTarget());
    } catch (error) {
      const code = error instanceof ScannerError ? error.code : 'unknown';
      await record(call, 'release', 'failed', { quarantineId: metadata.id, detail: code });
      throw error;
    }
    if (outcome.kind === 'not-in-quarantine-folder') {
      await record(call, 'release', 'failed', { quarantineId: metadata.id, detail: outcome.kind });
      const error =
        'The message is no longer in the quarantine folder of its mailbox; releasing it from ' +
        'the stored copy is not available yet, so the item stays quarantined';
      return { status: 409, json: { error } };
    }
    const releasedAt = now();
    await options.index.markReleased(await toIndexedItem(options.index, metadata), releasedAt);
    await record(call, 'release', 'ok', { quarantineId: metadata.id });
    call.context.log('info', 'Quarantine item released', { quarantineId: metadata.id });
    return {
      status: 200,
      json: { id: metadata.id, releasedAt: releasedAt.toISOString(), messageId: outcome.messageId },
    };
  }

  async function deleteItem(call: Call): Promise<ApiResponse> {
    const metadata = await readItem(call, 'delete');
    if ('status' in metadata) {
      return metadata;
    }
    if (!mayDelete(call.principal, metadata)) {
      await record(call, 'delete', 'forbidden', { quarantineId: metadata.id });
      const error = 'Only administrators and the owner of the mailbox may delete this item';
      return { status: 403, json: { error } };
    }
    const item = await toIndexedItem(options.index, metadata);
    await removeQuarantineItem(options.store, options.index, item);
    call.context.log('info', 'Quarantine item deleted', { quarantineId: metadata.id });
    try {
      await record(call, 'delete', 'ok', { quarantineId: metadata.id });
    } catch (error) {
      // The item is gone either way; a failed audit append must not report the delete as failed.
      call.context.log('error', 'Quarantine audit append failed after a delete', {
        quarantineId: metadata.id,
        error: toError(error).message,
      });
    }
    return { status: 204 };
  }
}

/** Parses query parameters, rejecting a parameter given twice. */
function parseQuery(
  params: URLSearchParams,
): { value: ReturnType<typeof listQuerySchema.parse> } | { error: string } {
  const raw: Record<string, string> = {};
  for (const [key, value] of params) {
    if (key in raw) {
      return { error: `invalid query: ${key} is given twice` };
    }
    raw[key] = value;
  }
  const parsed = listQuerySchema.safeParse(raw);
  if (!parsed.success) {
    return { error: `invalid query: ${describeIssues(parsed.error.issues)}` };
  }
  return { value: parsed.data };
}

/** Lists zod issues as `field: message`, joined with semicolons. */
export function describeIssues(
  issues: readonly { path: PropertyKey[]; message: string }[],
): string {
  return issues
    .map((issue) => {
      if (issue.path.length > 0) {
        return `${issue.path.map(String).join('.')}: ${issue.message}`;
      }
      // zod reports unknown keys of a strict object at the root, naming them in `keys`.
      const keys = (issue as { keys?: string[] }).keys;
      return keys === undefined ? issue.message : `${keys.join(', ')}: unknown parameter`;
    })
    .join('; ');
}

/**
 * Returns why the caller may not release the item, or undefined when they may. Administrators
 * release anything. Any other caller, a reader included, releases spam of their own mailbox only,
 * because a release puts the message back in front of its recipient.
 */
function releaseRefusal(principal: Principal, metadata: QuarantineMetadata): string | undefined {
  if (principal.isAdmin) {
    return undefined;
  }
  if (!mayDelete(principal, metadata)) {
    return 'Only administrators and the owner of the mailbox may release this item';
  }
  if (metadata.verdict.category !== 'spam') {
    return `Items in category ${metadata.verdict.category} can be released by administrators only`;
  }
  return undefined;
}

function toAuditEntry(
  call: Call,
  action: AuditAction,
  result: AuditResult,
  time: Date,
  extra: { quarantineId?: string; detail?: string },
): AuditEntry {
  const { principal } = call;
  let actorRole: AuditEntry['actorRole'] = 'user';
  if (principal.isAdmin) {
    actorRole = 'admin';
  } else if (principal.isReader === true) {
    actorRole = 'reader';
  }
  return {
    time: time.toISOString(),
    actorId: principal.id,
    actorMailbox: principal.mailbox,
    actorRole,
    action,
    result,
    clientIp: clientIp(call.request),
    ...extra,
  };
}

/**
 * Returns the first X-Forwarded-For entry, which App Service's front end sets to the client's
 * address and port. A value that does not look like one is dropped rather than stored.
 */
function clientIp(request: ApiRequest): string | undefined {
  const first = request.headers.get('x-forwarded-for')?.split(',')[0]?.trim();
  return first !== undefined && /^[0-9A-Fa-f:.[\]]{2,64}$/.test(first) ? first : undefined;
}

function notFound(): ApiResponse {
  return { status: 404, json: { error: 'Quarantine item not found' } };
}

function toErrorResponse(error: unknown, context: HandlerContext): ApiResponse {
  const code = error instanceof ScannerError ? error.code : undefined;
  const fields = error instanceof ScannerError ? error.fields : {};
  const message = toError(error).message;
  context.log('error', 'Quarantine request failed', { code, ...fields, error: message });
  if (code === 'quarantine-not-found') {
    return notFound();
  }
  if (code === 'blob-integrity') {
    return { status: 500, json: { error: 'The stored copy of this item is damaged' } };
  }
  if (code === 'mailbox-throttled' || code === 'mailbox-unavailable') {
    return { status: 503, json: { error: 'The mailbox is unavailable; try again later', code } };
  }
  if (code !== undefined && code.startsWith('mailbox-')) {
    return { status: 502, json: { error: 'The mailbox operation failed', code } };
  }
  return { status: 503, json: { error: 'Quarantine storage is unavailable; try again later' } };
}

function withSafeHeaders(response: ApiResponse): ApiResponse {
  return { ...response, headers: { ...SAFE_HEADERS, ...response.headers } };
}
