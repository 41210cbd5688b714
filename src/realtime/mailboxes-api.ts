import { z } from 'zod';

import { requireAdmin, toAuthMode } from '../auth/require-admin.js';
import type { ApiRequest, ApiResponse, HandlerContext } from '../functions-host/registry.js';
import type { CatchUpJob } from '../queue/jobs.js';
import { ScannerError, toError } from '../shared/errors.js';
import { parseJsonBody, rejectQueryParameters } from '../shared/http-input.js';
import { hashMailbox } from './mailbox-health.js';
import type { MailboxRecord } from './mailbox-store.js';
import { GRAPH_NOT_CONFIGURED, toLogger, type RealtimeServices } from './services.js';
import { SubscriptionManager } from './subscription-manager.js';
import { dropGroupFromMailbox, syncGroup } from './subscription-sync.js';

/** Largest request body of the mailboxes API, in bytes. */
export const MAX_MAILBOX_REQUEST_BYTES = 16 * 1024;

// An SMTP address: no spaces, controls or angle brackets, one @, at most 320 characters.
const address = z
  .string()
  .max(320)
  .regex(/^[^\s@<>()\u0000-\u001f\u007f]{1,64}@[A-Za-z0-9.-]{1,255}$/, 'must be an email address')
  .transform((value) => value.toLowerCase());
const groupId = z.uuid().transform((value) => value.toLowerCase());

/** Body of `POST /api/mailboxes`: one mailbox by address, or every member of an Entra group. */
export const addMailboxBodySchema = z.union([
  z.strictObject({ address }),
  z.strictObject({ groupId }),
]);

/**
 * The `{mailbox}` of `DELETE /api/mailboxes/{mailbox}`: an address or a group id. Anything else
 * gets 400, and a valid value that names nothing monitored gets 404.
 */
export const mailboxTargetSchema = z
  .union([groupId, address], { error: 'must be an email address or a group id' })
  .meta({ description: "A monitored mailbox's address, or a monitored group's Entra object id." });

/** Routes `/api/mailboxes` (GET, POST) and `/api/mailboxes/{mailbox}` (DELETE) for admins. */
export async function handleMailboxes(
  request: ApiRequest,
  context: HandlerContext,
  loadServices: () => Promise<RealtimeServices>,
): Promise<ApiResponse> {
  const services = await loadServices();
  const auth = requireAdmin(request, toAuthMode(services.settings.auth));
  if ('response' in auth) {
    return auth.response;
  }
  const invalidQuery = rejectQueryParameters(request.url.searchParams);
  if (invalidQuery !== undefined) {
    return invalidQuery;
  }
  if (request.method === 'GET') {
    return listMailboxes(services);
  }
  if (request.method === 'POST') {
    if (services.graph === undefined) {
      // Nothing is stored: a mailbox that cannot be subscribed would only look monitored.
      return { status: 503, json: { error: GRAPH_NOT_CONFIGURED } };
    }
    return addMailbox(request, services, context);
  }
  const target = mailboxTargetSchema.safeParse(request.params.mailbox ?? '');
  if (!target.success) {
    return { status: 400, json: { error: 'mailbox: must be an email address or a group id' } };
  }
  return deleteMailbox(target.data, services, context);
}

async function listMailboxes(services: RealtimeServices): Promise<ApiResponse> {
  const [mailboxes, groups] = await Promise.all([
    services.mailboxes.list(),
    services.mailboxes.listGroups(),
  ]);
  return { status: 200, json: { mailboxes: mailboxes.map(toView), groups } };
}

async function addMailbox(
  request: ApiRequest,
  services: RealtimeServices,
  context: HandlerContext,
): Promise<ApiResponse> {
  const parsed = parseJsonBody(request, addMailboxBodySchema);
  if ('error' in parsed) {
    return { status: 400, json: { error: parsed.error } };
  }
  if ('groupId' in parsed.value) {
    return addGroup(parsed.value.groupId, services, context);
  }
  const address = parsed.value.address;
  const existing = await services.mailboxes.get(address);
  if (existing?.directlyAdded === true) {
    return { status: 200, json: { mailbox: toView(existing) } };
  }
  if (existing === undefined && (await isUnknownUser(address, services, context))) {
    return {
      status: 404,
      json: { error: 'No user with this address was found in the directory; the mailbox was not added' },
    };
  }
  const record = await services.mailboxes.add(address, {}, services.now());
  context.log('info', 'Mailbox added', { mailboxHash: hashMailbox(record.mailbox) });
  const current = await subscribeNow(record, services, context);
  return { status: 201, json: { mailbox: toView(current ?? record) } };
}

/**
 * Returns true when Graph returns 404 for the address's user. Mailboxes of on-premises domains,
 * or named on premises in settings, are not checked. Any other failure lets the add go on, because
 * the subscription sync reports and retries it.
 */
async function isUnknownUser(
  address: string,
  services: RealtimeServices,
  context: HandlerContext,
): Promise<boolean> {
  const users = services.graph?.users;
  const lower = address.toLowerCase();
  const domain = lower.slice(lower.lastIndexOf('@') + 1);
  const hybrid = services.settings.hybrid;
  if (users === undefined || hybrid.onPremMailboxes.includes(lower) || hybrid.onPremDomains.includes(domain)) {
    return false;
  }
  try {
    await users.resolveUserId(lower);
    return false;
  } catch (error) {
    if (error instanceof ScannerError && error.fields.status === 404) {
      context.log('warn', 'Mailbox not added: no such user', { mailboxHash: hashMailbox(lower) });
      return true;
    }
    context.log('warn', 'Looking up the user of a new mailbox failed; it is added anyway', {
      mailboxHash: hashMailbox(lower),
      error: toError(error).message,
    });
    return false;
  }
}

async function addGroup(
  id: string,
  services: RealtimeServices,
  context: HandlerContext,
): Promise<ApiResponse> {
  await services.mailboxes.putGroup({ groupId: id, addedAt: services.now().toISOString() });
  try {
    const members = await syncGroup(services, id, toLogger(context));
    context.log('info', 'Group added', { groupId: id, members });
    return { status: 201, json: { groupId: id, members } };
  } catch (error) {
    context.log('error', "Listing the group's mailboxes failed", {
      groupId: id,
      error: toError(error).message,
    });
    if (error instanceof ScannerError && !error.transient) {
      // Graph refused the group itself (unknown, or not readable by the app): keep nothing.
      await services.mailboxes.deleteGroup(id);
      return { status: 400, json: { error: "The group's members could not be listed; it was not added" } };
    }
    // A passing failure: the group stays, and the subscription timer adds its members later.
    return {
      status: 202,
      json: { groupId: id, error: "The group's members could not be listed yet; the sync retries" },
    };
  }
}

/**
 * Creates the new mailbox's subscription now if the manager lease is free, so that mail is
 * covered within seconds instead of at the next sync. Returns the row as it is afterwards.
 */
async function subscribeNow(
  record: MailboxRecord,
  services: RealtimeServices,
  context: HandlerContext,
): Promise<MailboxRecord | undefined> {
  if (services.graph === undefined || record.state === 'active') {
    return record;
  }
  const lease = await services.managerLease.tryAcquire();
  if (lease === undefined) {
    return record;
  }
  try {
    // One attempt, so that the request returns promptly; the sync timer retries a failure.
    const manager = new SubscriptionManager({ ...services, retryDelaysMs: [] }, toLogger(context));
    if ((await manager.ensure(record, undefined)) === 'created') {
      await enqueueFirstCatchUp(record.mailbox, services, context);
    }
  } catch (error) {
    context.log('error', 'Creating the subscription failed; the sync retries', {
      mailboxHash: hashMailbox(record.mailbox),
      error: toError(error).message,
    });
  } finally {
    await lease.release();
  }
  return services.mailboxes.get(record.mailbox);
}

/**
 * Sweeps the new mailbox at once, so that mail from before its subscription is scanned now
 * instead of at the next sync. A failed send is logged; the sync's catch-up covers it.
 */
async function enqueueFirstCatchUp(
  mailbox: string,
  services: RealtimeServices,
  context: HandlerContext,
): Promise<void> {
  const job: CatchUpJob = {
    kind: 'catch-up',
    mailbox,
    reason: 'subscription-created',
    enqueuedAt: services.now().toISOString(),
  };
  try {
    await services.queue.send([job]);
  } catch (error) {
    context.log('warn', 'Enqueueing the first catch-up failed; the sync enqueues one', {
      mailboxHash: hashMailbox(mailbox),
      error: toError(error).message,
    });
  }
}

async function deleteMailbox(
  target: string,
  services: RealtimeServices,
  context: HandlerContext,
): Promise<ApiResponse> {
  const manager = new SubscriptionManager(services, toLogger(context));
  const group = groupId.safeParse(target);
  if (group.success) {
    if (!(await services.mailboxes.deleteGroup(group.data))) {
      return { status: 404, json: { error: 'Group not monitored' } };
    }
    for (const record of await services.mailboxes.list()) {
      if (record.groupIds.includes(group.data)) {
        await dropGroupFromMailbox(services, manager, record, group.data);
      }
    }
    context.log('info', 'Group removed', { groupId: group.data });
    return { status: 204 };
  }
  let record = await services.mailboxes.get(target);
  if (record === undefined) {
    return { status: 404, json: { error: 'Mailbox not monitored' } };
  }
  while (record !== undefined && record.groupIds.length > 0) {
    // Still a group member: only the direct addition goes; the group sync owns the row.
    if (await services.mailboxes.update(record, { directlyAdded: false })) {
      return { status: 200, json: { mailbox: toView({ ...record, directlyAdded: false }) } };
    }
    record = await services.mailboxes.get(target);
  }
  if (record !== undefined) {
    await manager.remove(record);
  }
  context.log('info', 'Mailbox removed', { mailboxHash: hashMailbox(target) });
  return { status: 204 };
}

/** Converts a mailbox row to the form the API returns, without its ETag. */
export function toView(record: MailboxRecord): Omit<MailboxRecord, 'etag'> {
  const { etag: _etag, ...view } = record;
  return view;
}
