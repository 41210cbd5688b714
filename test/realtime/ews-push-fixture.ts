import { randomBytes } from 'node:crypto';

import { TableClient } from '@azure/data-tables';

import type { ApiRequest } from '../../src/functions-host/registry.js';
import type { EwsPushClient } from '../../src/ews/ews-push.js';
import type { JobQueue } from '../../src/queue/jobs.js';
import {
  createEwsPushServices,
  type EwsPushServices,
} from '../../src/realtime/ews-push-services.js';
import type { EwsSubscriptionRecord } from '../../src/realtime/ews-subscription-store.js';
import { hashClientState } from '../../src/realtime/subscription-store.js';
import type { SimEvent } from '../ews-simulator/ews-push.js';
import { sendNotificationXml } from '../ews-simulator/ews-push.js';
import { requireAzuriteConnectionString } from '../quarantine/azurite-test-support.js';
import { createTestServices, RecordingQueue } from '../helpers/realtime-fixture.js';

/** Address every EWS push test treats as on premises through MAILSWEEP_ONPREM_MAILBOXES. */
export const ONPREM_MAILBOX = 'onprem@contoso.com';

/** Options of {@link createEwsTestServices}. */
export interface EwsTestServicesOptions {
  push?: EwsPushClient;
  env?: Record<string, string>;
  queue?: JobQueue;
  now?: () => Date;
}

/** Builds EWS push services on fresh Azurite tables, with a recording queue by default. */
export async function createEwsTestServices(options: EwsTestServicesOptions = {}) {
  const queue = options.queue ?? new RecordingQueue();
  const { services: realtime, tables } = await createTestServices({
    queue,
    now: options.now,
    env: { MAILSWEEP_ONPREM_MAILBOXES: ONPREM_MAILBOX, ...options.env },
  });
  const table = TableClient.fromConnectionString(
    requireAzuriteConnectionString(),
    `ews${randomBytes(5).toString('hex')}`,
    { allowInsecureConnection: true },
  );
  await table.createTable();
  const services = await createEwsPushServices(realtime, {
    push: options.push,
    tables: { ewsSubscriptions: table, leases: tables.leases },
  });
  return { services, queue, realtime, leases: tables.leases, ewsTable: table };
}

/** Stores a subscription row for a mailbox and returns it with its callback secret. */
export async function storeSubscription(
  services: EwsPushServices,
  changes: Partial<EwsSubscriptionRecord> = {},
): Promise<{ record: EwsSubscriptionRecord; secret: string }> {
  const secret = randomBytes(32).toString('base64url');
  const record: EwsSubscriptionRecord = {
    callbackId: randomBytes(16).toString('hex'),
    subscriptionId: `sub-${randomBytes(6).toString('hex')}`,
    mailbox: ONPREM_MAILBOX,
    secretHash: hashClientState(secret),
    statusFrequencyMinutes: 5,
    createdAt: '2026-12-01T00:00:00.000Z',
    lastSeenAt: '2026-12-01T00:00:00.000Z',
    ...changes,
  };
  await services.subscriptions.put(record);
  return { record, secret };
}

/** Returns a SendNotification POST for the callback URL of `record`. */
export function notificationRequest(
  record: Pick<EwsSubscriptionRecord, 'callbackId'> & { subscriptionId?: string },
  secret: string,
  events: SimEvent[],
): ApiRequest {
  const url = new URL('http://127.0.0.1/api/ews/notifications');
  url.searchParams.set('id', record.callbackId);
  url.searchParams.set('key', secret);
  const body = sendNotificationXml(
    { id: record.subscriptionId ?? 'sub-unknown', previousWatermark: 'AQAAAA==' },
    events,
  );
  return rawRequest(url, body);
}

/** Returns a POST with any body. */
export function rawRequest(url: URL, body: string): ApiRequest {
  return {
    method: 'POST',
    url,
    headers: new Headers({ 'content-type': 'text/xml; charset=utf-8' }),
    params: {},
    body: Buffer.from(body, 'utf8'),
  };
}

/** Returns a CreatedEvent and a NewMailEvent for one item, as Exchange sends for new mail. */
export function newMailEvents(
  itemId: string,
  watermark = 'AQAAAB==',
  timeStamp = '2026-12-04T10:00:00Z',
): SimEvent[] {
  return [
    { type: 'CreatedEvent', watermark: `${watermark}c`, timeStamp, itemId, parentFolderId: 'f' },
    { type: 'NewMailEvent', watermark, timeStamp, itemId, parentFolderId: 'f' },
  ];
}
