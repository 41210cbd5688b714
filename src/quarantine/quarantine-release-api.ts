import { createHash } from 'node:crypto';

import { z } from 'zod';

import type { ApiResponse } from '../functions-host/registry.js';
import { ScannerError, toError } from '../shared/errors.js';
import {
  notFound,
  parseJsonBody,
  parseQueryParams,
  type ApiKit,
  type Call,
} from './quarantine-api-kit.js';
import type { AuditAction } from './quarantine-audit.js';
import type { QuarantineIndex } from './quarantine-index.js';
import { normalizeMailbox } from './quarantine-id.js';
import { allowedActions, type ItemAction } from './quarantine-policy.js';
import {
  releaseCopyTo,
  releaseToMailbox,
  type ReleaseOutcome,
  type ReleaseTarget,
} from './quarantine-release.js';
import { toIndexedItem } from './quarantine-removal.js';
import type { QuarantineMetadata, QuarantineStore } from './quarantine-types.js';
import type { ReleasedMessages } from './released-messages.js';
import {
  releaseRequestIdSchema,
  type ReleaseRequest,
  type ReleaseRequestStore,
} from './release-requests.js';

/** Most other recipients one release may name. */
export const MAX_RELEASE_RECIPIENTS = 20;

/** Most characters of a note on a request or decision. */
export const MAX_NOTE_CHARS = 1000;

/** Largest page of the release request listing. */
export const MAX_REQUEST_PAGE_SIZE = 200;

const NO_MAILBOX_ERROR =
  'The item has no mailbox to release it to (it was stored by the command line): download it, ' +
  'or as an administrator release it to other recipients';

// An SMTP address: no spaces, controls or angle brackets, one @, at most 320 characters.
const addressSchema = z
  .string()
  .max(320)
  .regex(/^[^\s@<>()\u0000-\u001f\u007f]{1,64}@[A-Za-z0-9.-]{1,255}$/, 'must be an email address')
  .transform((value) => value.toLowerCase());

const noteSchema = z.string().trim().min(1).max(MAX_NOTE_CHARS);

/** Body of `POST /api/quarantine/items/{id}/release`; every field is optional. */
export const releaseBodySchema = z.strictObject({
  /** Administrators: put copies into these mailboxes' Inboxes instead of the item's mailbox. */
  recipients: z.array(addressSchema).min(1).max(MAX_RELEASE_RECIPIENTS).optional(),
  /** Administrators: also allow the sender, so that their spam is no longer quarantined. */
  allowSender: z.boolean().optional(),
});

/** Body of `POST /api/quarantine/items/{id}/release-requests`. */
export const releaseRequestBodySchema = z.strictObject({ note: noteSchema.optional() });

/** Body of the approve and deny routes. */
export const decisionBodySchema = z.strictObject({
  note: noteSchema.optional(),
  /** Approve only: also allow the sender. */
  allowSender: z.boolean().optional(),
});

/** Query of `GET /api/quarantine/release-requests`. */
export const releaseRequestQuerySchema = z.strictObject({
  status: z.enum(['pending', 'approved', 'denied']).default('pending'),
  limit: z
    .string()
    .regex(/^[0-9]{1,4}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_REQUEST_PAGE_SIZE))
    .default(50),
  continuation: releaseRequestIdSchema.optional(),
});

export type ReleaseBody = z.infer<typeof releaseBodySchema>;

/** Dependencies of the release handlers besides the kit. */
export interface ReleaseApiDependencies {
  store: QuarantineStore;
  index: QuarantineIndex;
  releaseTarget?: () => Promise<ReleaseTarget>;
  releaseRequests?: ReleaseRequestStore;
  releasedMessages?: ReleasedMessages;
}

/** Handlers of the release routes. */
export interface ReleaseHandlers {
  release(call: Call): Promise<ApiResponse>;
  requestRelease(call: Call): Promise<ApiResponse>;
  listRequests(call: Call): Promise<ApiResponse>;
  decide(call: Call, decision: 'approve' | 'deny'): Promise<ApiResponse>;
  /** Releases one item that the caller already read; the bulk route's per-item step. */
  releaseItem(call: Call, metadata: QuarantineMetadata, body: ReleaseBody, action?: AuditAction): Promise<ApiResponse>;
}

/** Creates the release handlers. */
export function createReleaseHandlers(kit: ApiKit, deps: ReleaseApiDependencies): ReleaseHandlers {
  const actionsFor = async (call: Call, metadata: QuarantineMetadata): Promise<ItemAction[]> => {
    const row = await deps.index.findRow(metadata);
    return allowedActions(call.principal, {
      mailbox: metadata.mailbox,
      category: metadata.verdict.category,
      releasedAt: row?.releasedAt,
      legalHold: row?.legalHold,
    });
  };

  async function releaseItem(
    call: Call,
    metadata: QuarantineMetadata,
    body: ReleaseBody,
    action: AuditAction = 'release',
  ): Promise<ApiResponse> {
    const id = metadata.id;
    const adminOnly = body.recipients !== undefined || body.allowSender === true;
    if (adminOnly && !call.principal.isAdmin) {
      await kit.record(call, action, 'forbidden', { quarantineId: id, detail: 'admin-fields' });
      return { status: 403, json: { error: 'recipients, allowSender: administrators only' } };
    }
    let row = await deps.index.findRow(metadata);
    if (row?.releasedAt !== undefined && body.recipients === undefined) {
      await kit.record(call, action, 'invalid', { quarantineId: id, detail: 'released' });
      return { status: 409, json: { error: 'The item was already released', releasedAt: row.releasedAt } };
    }
    // The permission check comes first, so that a caller who may not release gets 403 rather than
    // advice to download or to release as an administrator. An item with no mailbox offers no
    // `release` action, so an administrator releasing it without recipients passes here.
    const allowed = await actionsFor(call, metadata);
    const noMailbox = normalizeMailbox(metadata.mailbox) === '';
    const adminCanTry = call.principal.isAdmin && (body.recipients !== undefined || noMailbox);
    if (!allowed.includes('release') && !adminCanTry) {
      await kit.record(call, action, 'forbidden', { quarantineId: id });
      const error = allowed.includes('request-release')
        ? `Items in category ${metadata.verdict.category} are released by an administrator: ` +
          'ask for it with POST release-requests'
        : 'Only administrators and the owner of the mailbox may release this item';
      return { status: 403, json: { error } };
    }
    // Checked before the mailbox client is built, so that a host without mailbox settings returns
    // 409 for an item stored by the command line rather than a configuration error.
    if (noMailbox && body.recipients === undefined) {
      await kit.record(call, action, 'invalid', { quarantineId: id, detail: 'no-mailbox' });
      return { status: 409, json: { error: NO_MAILBOX_ERROR } };
    }
    if (deps.releaseTarget === undefined) {
      return { status: 501, json: { error: 'Release is not configured on this host' } };
    }
    if (row === undefined) {
      // An item stored before the index existed gets its rows now, so the release can be marked.
      await deps.index.add(metadata);
      row = await deps.index.findRow(metadata);
    }
    const target = await deps.releaseTarget();
    if (body.recipients !== undefined) {
      return releaseCopies(call, metadata, body.recipients, target, action);
    }

    let outcome: ReleaseOutcome;
    try {
      outcome = await releaseToMailbox(metadata, () => deps.store.getContent(id), target);
    } catch (error) {
      const code = error instanceof ScannerError ? error.code : 'unknown';
      await deps.index.markReleaseFailed(await toIndexedItem(deps.index, metadata), code, kit.now());
      await kit.record(call, action, 'failed', { quarantineId: id, detail: code });
      throw error;
    }
    if (outcome.kind === 'not-in-quarantine-folder') {
      await kit.record(call, action, 'failed', { quarantineId: id, detail: 'no-mailbox' });
      return { status: 409, json: { error: NO_MAILBOX_ERROR } };
    }
    const releasedAt = kit.now();
    await rememberRelease(metadata, outcome, target, call, body);
    await deps.index.markReleased(await toIndexedItem(deps.index, metadata), releasedAt);
    await kit.record(call, action, 'ok', { quarantineId: id, detail: `method=${outcome.method ?? 'move'}` });
    call.context.log('info', 'Quarantine item released', { quarantineId: id, method: outcome.method });
    return {
      status: 200,
      json: {
        id,
        releasedAt: releasedAt.toISOString(),
        messageId: outcome.messageId,
        method: outcome.method,
        preservesMime: outcome.preservesMime,
      },
    };
  }

  /**
   * Remembers the released message so that the scan consumer does not quarantine it again, and
   * allows its sender when asked. A store that rebuilt the message (Graph import) gives it new
   * bytes, so the hash of the copy read back from the mailbox is remembered as well.
   */
  async function rememberRelease(
    metadata: QuarantineMetadata,
    outcome: Extract<ReleaseOutcome, { kind: 'released' }>,
    target: ReleaseTarget,
    call: Call,
    body: ReleaseBody,
    mailbox: string | undefined = metadata.mailbox,
  ): Promise<void> {
    const memory = deps.releasedMessages;
    if (memory === undefined) {
      return;
    }
    const now = kit.now();
    await memory.remember(metadata.internetMessageId, metadata.sha256, now);
    if (outcome.preservesMime === false && mailbox !== undefined) {
      const copy = await readAll(await target.client.getMime(mailbox, outcome.messageId));
      const sha256 = createHash('sha256').update(copy).digest('hex');
      await memory.remember(metadata.internetMessageId, sha256, now);
    }
    if (body.allowSender === true && metadata.sender !== undefined) {
      await memory.allowSender(metadata.sender, call.principal.id, now);
    }
  }

  async function releaseCopies(
    call: Call,
    metadata: QuarantineMetadata,
    recipients: readonly string[],
    target: ReleaseTarget,
    action: AuditAction,
  ): Promise<ApiResponse> {
    const raw = await deps.store.getContent(metadata.id);
    const copies: { recipient: string; status: 'released' | 'failed'; messageId?: string; code?: string }[] = [];
    for (const recipient of recipients) {
      try {
        const outcome = await releaseCopyTo(metadata, raw, recipient, target);
        if (outcome.kind === 'released') {
          await rememberRelease(metadata, outcome, target, call, {}, recipient);
          copies.push({ recipient, status: 'released', messageId: outcome.messageId });
        }
      } catch (error) {
        const code = error instanceof ScannerError ? error.code : 'unknown';
        call.context.log('warn', 'Release to another recipient failed', {
          quarantineId: metadata.id,
          code,
          error: toError(error).message,
        });
        copies.push({ recipient, status: 'failed', code });
      }
    }
    const released = copies.filter((copy) => copy.status === 'released').length;
    const result = released === copies.length ? 'ok' : 'failed';
    await kit.record(call, action, result, {
      quarantineId: metadata.id,
      detail: `recipients=${copies.length} released=${released}`,
    });
    return { status: result === 'ok' ? 200 : 502, json: { id: metadata.id, copies } };
  }

  return {
    releaseItem,

    async release(call) {
      const body = parseJsonBody(call.request, releaseBodySchema);
      if ('error' in body) {
        await kit.record(call, 'release', 'invalid');
        return { status: 400, json: { error: body.error } };
      }
      const metadata = await kit.readItem(call, 'release');
      if ('status' in metadata) {
        return metadata;
      }
      return releaseItem(call, metadata, body.value);
    },

    async requestRelease(call) {
      const body = parseJsonBody(call.request, releaseRequestBodySchema);
      if ('error' in body) {
        await kit.record(call, 'request-release', 'invalid');
        return { status: 400, json: { error: body.error } };
      }
      const metadata = await kit.readItem(call, 'request-release');
      if ('status' in metadata) {
        return metadata;
      }
      if (deps.releaseRequests === undefined) {
        return { status: 501, json: { error: 'Release requests are not configured on this host' } };
      }
      const allowed = await actionsFor(call, metadata);
      if (!allowed.includes('request-release')) {
        await kit.record(call, 'request-release', 'forbidden', { quarantineId: metadata.id });
        const error = allowed.includes('release')
          ? 'You may release this item directly with POST release'
          : 'Only the owner of the mailbox may ask for this item to be released';
        return { status: 403, json: { error } };
      }
      const pending = await deps.releaseRequests.findPending(metadata.id);
      if (pending !== undefined) {
        await kit.record(call, 'request-release', 'invalid', { quarantineId: metadata.id, detail: 'pending' });
        return { status: 409, json: { error: 'A release request for this item is already pending', request: pending } };
      }
      const request = await deps.releaseRequests.create({
        quarantineId: metadata.id,
        requestedBy: call.principal.id,
        requestedByMailbox: call.principal.mailbox,
        note: body.value.note,
        now: kit.now(),
      });
      await kit.record(call, 'request-release', 'ok', { quarantineId: metadata.id, detail: `request=${request.id}` });
      return { status: 201, json: { request } };
    },

    async listRequests(call) {
      if (!call.principal.isAdmin) {
        return { status: 403, json: { error: 'Administrators only' } };
      }
      if (deps.releaseRequests === undefined) {
        return { status: 501, json: { error: 'Release requests are not configured on this host' } };
      }
      const query = parseQueryParams(call.request.url.searchParams, releaseRequestQuerySchema);
      if ('error' in query) {
        await kit.record(call, 'list-requests', 'invalid');
        return { status: 400, json: { error: query.error } };
      }
      const { status, limit, continuation } = query.value;
      const page = await deps.releaseRequests.listByStatus(status, limit, continuation);
      await kit.record(call, 'list-requests', 'ok', { detail: `status=${status} count=${page.requests.length}` });
      return { status: 200, json: { requests: page.requests, continuation: page.after } };
    },

    async decide(call, decision) {
      const action: AuditAction = decision === 'approve' ? 'approve-release' : 'deny-release';
      if (!call.principal.isAdmin) {
        await kit.record(call, action, 'forbidden');
        return { status: 403, json: { error: 'Administrators only' } };
      }
      if (deps.releaseRequests === undefined) {
        return { status: 501, json: { error: 'Release requests are not configured on this host' } };
      }
      const requestId = releaseRequestIdSchema.safeParse(call.request.params.requestId);
      if (!requestId.success) {
        await kit.record(call, action, 'invalid');
        return { status: 400, json: { error: 'requestId: must be a release request id from this API' } };
      }
      const body = parseJsonBody(call.request, decisionBodySchema);
      if ('error' in body) {
        await kit.record(call, action, 'invalid');
        return { status: 400, json: { error: body.error } };
      }
      if (decision === 'deny' && body.value.allowSender !== undefined) {
        return { status: 400, json: { error: 'invalid body: allowSender: only an approval allows a sender' } };
      }
      const request = await deps.releaseRequests.get(requestId.data);
      if (request === undefined) {
        await kit.record(call, action, 'not-found');
        return { status: 404, json: { error: 'Release request not found' } };
      }
      if (request.status !== 'pending') {
        await kit.record(call, action, 'invalid', { quarantineId: request.quarantineId, detail: request.status });
        return { status: 409, json: { error: `The request was already ${request.status}`, request } };
      }
      const decided = { decidedBy: call.principal.id, at: kit.now(), note: body.value.note };
      if (decision === 'deny') {
        const denied = await deps.releaseRequests.decide(request, { status: 'denied', ...decided });
        await kit.record(call, action, 'ok', { quarantineId: request.quarantineId, detail: `request=${request.id}` });
        return { status: 200, json: { request: denied } };
      }
      return approve(call, request, body.value.allowSender === true, decided);
    },
  };

  async function approve(
    call: Call,
    request: ReleaseRequest & { etag: string },
    allowSender: boolean,
    decided: { decidedBy: string; at: Date; note?: string },
  ): Promise<ApiResponse> {
    const requests = deps.releaseRequests as ReleaseRequestStore;
    const metadata = await kit.readItemById(call, 'approve-release', request.quarantineId);
    if ('status' in metadata) {
      return metadata.status === 404 ? notFound() : metadata;
    }
    let released: ApiResponse;
    try {
      released = await releaseItem(call, metadata, { allowSender: allowSender || undefined }, 'approve-release');
    } catch (error) {
      // The item stays quarantined and the request pending, with the mailbox error shown on it.
      const code = error instanceof ScannerError ? error.code : 'unknown';
      await requests.decide(request, { status: 'pending', decidedBy: decided.decidedBy, at: decided.at, error: code });
      throw error;
    }
    if (released.status !== 200) {
      return released;
    }
    const approved = await requests.decide(request, { status: 'approved', ...decided });
    return { status: 200, json: { request: approved, release: released.json } };
  }
}

async function readAll(download: { stream: AsyncIterable<unknown> }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of download.stream) {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}
