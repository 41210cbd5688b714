import { z } from 'zod';

import { withOwnAddresses } from '../auth/own-addresses.js';
import type { AuthMode } from '../auth/principal.js';
import { requireUser } from '../auth/require-user.js';
import type { UserAddressDirectory } from '../auth/user-addresses.js';
import type { ScanLimits } from '../config/settings.js';
import type { ApiHandler, ApiResponse, HandlerContext } from '../functions-host/registry.js';
import { ScannerError, toError } from '../shared/errors.js';
import { emptyQuerySchema } from '../shared/http-input.js';
import { toEncryptedZip } from './encrypted-zip.js';
import {
  encodeContinuation,
  listQuerySchema,
  mayRead as mayReadItem,
  planListQuery,
} from './quarantine-access.js';
import {
  notFound,
  parseJsonBody,
  parseQueryParams,
  toAuditEntry,
  type ApiKit,
  type AuditExtra,
  type Call,
} from './quarantine-api-kit.js';
import type { AuditAction, AuditResult, QuarantineAuditLog } from './quarantine-audit.js';
import { readAuditPage } from './quarantine-audit-api.js';
import { createBulkHandler } from './quarantine-bulk-api.js';
import { quarantineIdSchema } from './quarantine-id.js';
import type { QuarantineIndex } from './quarantine-index.js';
import { allowedActions, ZIP_BY_DEFAULT_CATEGORIES } from './quarantine-policy.js';
import { buildPreview } from './quarantine-preview.js';
import type { ReleaseTarget } from './quarantine-release.js';
import { createReleaseHandlers } from './quarantine-release-api.js';
import { removeQuarantineItem, toIndexedItem } from './quarantine-removal.js';
import { HOLD_TAG_VALUE, type QuarantineMetadata, type QuarantineStore } from './quarantine-types.js';
import type { ReleasedMessages } from './released-messages.js';
import type { ReleaseRequestStore } from './release-requests.js';

export { describeIssues } from './quarantine-api-kit.js';

/**
 * Largest message previewed, in bytes. A preview extracts the whole message in the function's
 * own process, so larger items return metadata only and can still be downloaded.
 */
export const MAX_PREVIEW_MESSAGE_BYTES = 32 * 1024 * 1024;

/** Default for the most items one bulk request may act on. */
export const DEFAULT_MAX_BULK_ITEMS = 100;

/** Headers on every response: nothing is cached, nothing is sniffed into another type. */
const SAFE_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/** Query of `GET /api/quarantine/items/{id}/message`. */
export const downloadQuerySchema = z.strictObject({
  /** `eml` for the message itself, `zip` for it inside a zip encrypted with "infected". */
  format: z.enum(['eml', 'zip']).optional(),
});

/** Body of `PUT /api/quarantine/items/{id}/legal-hold`. */
export const legalHoldBodySchema = z.strictObject({ hold: z.boolean() });

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
  /** The mailbox side of a release. Without it, the release routes return 501. */
  releaseTarget?: () => Promise<ReleaseTarget>;
  /** Release requests; without them, the request routes return 501. */
  releaseRequests?: ReleaseRequestStore;
  /** Store of released messages and allowed senders, which the scan consumer reads. */
  releasedMessages?: ReleasedMessages;
  /** Most items one bulk request may act on; default {@link DEFAULT_MAX_BULK_ITEMS}. */
  maxBulkItems?: number;
  /**
   * The directory that lists a user's aliases by object id, cached. Without it, a caller without
   * a role owns only the address in their sign-in claims (or the local user's from settings).
   */
  userAddresses?: UserAddressDirectory;
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
  /** `POST /api/quarantine/items/{id}/release-requests` */
  requestRelease: ApiHandler;
  /** `GET /api/quarantine/release-requests` (administrators) */
  listReleaseRequests: ApiHandler;
  /** `POST /api/quarantine/release-requests/{requestId}/approve` (administrators) */
  approveReleaseRequest: ApiHandler;
  /** `POST /api/quarantine/release-requests/{requestId}/deny` (administrators) */
  denyReleaseRequest: ApiHandler;
  /** `PUT /api/quarantine/items/{id}/legal-hold` (administrators) */
  legalHold: ApiHandler;
  /** `POST /api/quarantine/bulk` */
  bulk: ApiHandler;
  /** `GET /api/quarantine/audit` (administrators) */
  audit: ApiHandler;
}

/**
 * Creates the quarantine API. Every request is authenticated, every query and body validated
 * with zod (400 naming the field), and every action appended to the audit log. An item the caller
 * may not see returns 404, exactly as an unknown id does, so that ids of other users' items do not
 * leak. What a caller may do with an item they see comes from {@link allowedActions}.
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
        const principal = await withOwnAddresses(
          auth.principal,
          options.userAddresses,
          context.log,
        );
        return withSafeHeaders(await run({ principal, request, context }));
      } catch (error) {
        return withSafeHeaders(toErrorResponse(error, context));
      }
    };

  const record = async (
    call: Call,
    action: AuditAction,
    result: AuditResult,
    extra: AuditExtra = {},
  ): Promise<void> => {
    await options.audit.append(toAuditEntry(call, action, result, now(), extra));
  };

  const readItemById = async (
    call: Call,
    action: AuditAction,
    rawId: string | undefined,
  ): Promise<QuarantineMetadata | ApiResponse> => {
    const parsedId = quarantineIdSchema.safeParse(rawId);
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
    if (metadata === undefined || !mayRead(call, metadata)) {
      await record(call, action, 'not-found', { quarantineId: id });
      return notFound();
    }
    return metadata;
  };

  /**
   * Reads the item a route names, after checking that the request has no query string: only the
   * download route takes query parameters, and it parses them before reading the item.
   */
  const readItem = async (
    call: Call,
    action: AuditAction,
  ): Promise<QuarantineMetadata | ApiResponse> => {
    if (action !== 'download') {
      const query = parseQueryParams(call.request.url.searchParams, emptyQuerySchema);
      if ('error' in query) {
        await record(call, action, 'invalid');
        return { status: 400, json: { error: query.error } };
      }
    }
    return readItemById(call, action, call.request.params.id);
  };

  const kit: ApiKit = { now, record, readItem, readItemById };
  const release = createReleaseHandlers(kit, options);

  /** Returns the item's index row and the actions the caller may take on it. */
  const describeItem = async (call: Call, metadata: QuarantineMetadata) => {
    const row = await options.index.findRow(metadata);
    const actions = allowedActions(call.principal, {
      mailbox: metadata.mailbox,
      category: metadata.verdict.category,
      releasedAt: row?.releasedAt,
      legalHold: row?.legalHold,
    });
    return { row, actions };
  };

  const deleteItem = async (call: Call, id: string | undefined): Promise<ApiResponse> => {
    const metadata = await readItemById(call, 'delete', id);
    if ('status' in metadata) {
      return metadata;
    }
    const { row, actions } = await describeItem(call, metadata);
    if (!actions.includes('delete')) {
      await record(call, 'delete', 'forbidden', { quarantineId: metadata.id });
      const error =
        row?.legalHold === true
          ? 'The item is on legal hold; an administrator must clear the hold first'
          : 'Only administrators and the owner of the mailbox may delete this item';
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
  };

  const bulk = createBulkHandler(kit, {
    index: options.index,
    maxItems: options.maxBulkItems ?? DEFAULT_MAX_BULK_ITEMS,
    release,
    deleteItem,
  });

  return {
    list: authenticated(async (call) => {
      const query = parseQueryParams(call.request.url.searchParams, listQuerySchema);
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
      const items = page.items.map((item) => ({
        ...item,
        allowedActions: allowedActions(call.principal, item),
      }));
      return { status: 200, json: { items, continuation } };
    }),

    item: authenticated(async (call) => {
      if (call.request.method === 'DELETE') {
        const query = parseQueryParams(call.request.url.searchParams, emptyQuerySchema);
        if ('error' in query) {
          await record(call, 'delete', 'invalid');
          return { status: 400, json: { error: query.error } };
        }
        return deleteItem(call, call.request.params.id);
      }
      const metadata = await kit.readItem(call, 'preview');
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
      const { row, actions } = await describeItem(call, metadata);
      await record(call, 'preview', 'ok', { quarantineId: metadata.id });
      const item = {
        ...metadata,
        releasedAt: row?.releasedAt,
        releaseError: row?.releasedAt === undefined ? row?.releaseError : undefined,
        legalHold: row?.legalHold === true,
        allowedActions: actions,
      };
      return { status: 200, json: { item, preview, previewUnavailable } };
    }),

    message: authenticated(async (call) => {
      const query = parseQueryParams(call.request.url.searchParams, downloadQuerySchema);
      if ('error' in query) {
        await record(call, 'download', 'invalid');
        return { status: 400, json: { error: query.error } };
      }
      const metadata = await kit.readItem(call, 'download');
      if ('status' in metadata) {
        return metadata;
      }
      const { actions } = await describeItem(call, metadata);
      if (!actions.includes('download')) {
        await record(call, 'download', 'forbidden', { quarantineId: metadata.id });
        const error = `Items in category ${metadata.verdict.category} are downloaded by administrators and readers only`;
        return { status: 403, json: { error } };
      }
      // getContent checks size and SHA-256 before any byte is sent, so a damaged copy is a 500
      // rather than a download that looks complete.
      const raw = await options.store.getContent(metadata.id);
      const zipByDefault = ZIP_BY_DEFAULT_CATEGORIES.includes(metadata.verdict.category);
      const format = query.value.format ?? (zipByDefault ? 'zip' : 'eml');
      const body = format === 'zip' ? await toEncryptedZip(`${metadata.id}.eml`, raw) : raw;
      await record(call, 'download', 'ok', { quarantineId: metadata.id, detail: `format=${format}` });
      return {
        status: 200,
        headers: {
          'content-type': format === 'zip' ? 'application/zip' : 'application/octet-stream',
          'content-disposition': `attachment; filename="${metadata.id}.${format}"`,
          'content-length': String(body.byteLength),
        },
        body,
      };
    }),

    release: authenticated((call) => release.release(call)),
    requestRelease: authenticated((call) => release.requestRelease(call)),
    listReleaseRequests: authenticated((call) => release.listRequests(call)),
    approveReleaseRequest: authenticated((call) => release.decide(call, 'approve')),
    denyReleaseRequest: authenticated((call) => release.decide(call, 'deny')),
    bulk: authenticated(bulk),

    legalHold: authenticated(async (call) => {
      if (!call.principal.isAdmin) {
        await record(call, 'legal-hold', 'forbidden');
        return { status: 403, json: { error: 'Administrators only' } };
      }
      const body = parseJsonBody(call.request, legalHoldBodySchema);
      if ('error' in body) {
        await record(call, 'legal-hold', 'invalid');
        return { status: 400, json: { error: body.error } };
      }
      const metadata = await kit.readItem(call, 'legal-hold');
      if ('status' in metadata) {
        return metadata;
      }
      const hold = body.value.hold;
      // The blob tag goes first when holding and last when releasing, so that at no moment the
      // lifecycle rule may delete an item the index shows as held.
      if (hold) {
        await options.store.setRetentionTag?.(metadata.id, HOLD_TAG_VALUE);
      }
      await options.index.setLegalHold(await toIndexedItem(options.index, metadata), hold);
      if (!hold) {
        await options.store.setRetentionTag?.(metadata.id, metadata.verdict.category);
      }
      await record(call, 'legal-hold', 'ok', { quarantineId: metadata.id, detail: `hold=${hold}` });
      return { status: 200, json: { id: metadata.id, legalHold: hold } };
    }),

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
}

function mayRead(call: Call, metadata: QuarantineMetadata): boolean {
  return mayReadItem(call.principal, metadata);
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
  if (code === 'blob-conflict') {
    return { status: 409, json: { error: 'The record changed meanwhile; read it again and retry' } };
  }
  if (code === 'mailbox-throttled' || code === 'mailbox-unavailable') {
    return { status: 503, json: { error: 'The mailbox is unavailable; try again later', code } };
  }
  if (code === 'config-invalid') {
    // Missing settings, such as Graph or EWS for a release on a local host, or rejected storage
    // credentials: retrying cannot help, and the log line above names the cause.
    const error = 'The function app is not configured for this request; its log names the setting';
    return { status: 500, json: { error, code } };
  }
  if (code !== undefined && code.startsWith('mailbox-')) {
    return { status: 502, json: { error: 'The mailbox operation failed; the item stays quarantined', code } };
  }
  return { status: 503, json: { error: 'Quarantine storage is unavailable; try again later' } };
}

function withSafeHeaders(response: ApiResponse): ApiResponse {
  return { ...response, headers: { ...SAFE_HEADERS, ...response.headers } };
}
