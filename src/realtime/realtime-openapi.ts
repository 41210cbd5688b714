import { z } from 'zod';

import type { ApiArea, ApiOperation } from '../functions-host/openapi.js';
import { ewsCallbackQuerySchema } from './ews-notification-endpoint.js';
import { addMailboxBodySchema, mailboxTargetSchema } from './mailboxes-api.js';
import { notificationCollectionSchema } from './notification-payload.js';
import { graphWebhookQuerySchema } from './validation-token.js';

const GRAPH_RESPONSES = {
  '200': { description: 'validation handshake: the validationToken', contentType: 'text/plain' },
  '202': 'accepted; authentic items were queued or acted on, the others dropped and counted',
  '400': {
    description: 'an invalid validationToken (text/plain), or a body that is not a collection',
    contentType: 'text/plain',
  },
  '503': 'the scan queue is unavailable; Graph retries',
};

/** Real-time endpoints: monitored mailboxes, status and the Graph and EWS notification URLs. */
const REALTIME_OPERATIONS: ApiOperation[] = [
  {
    method: 'get',
    path: '/mailboxes',
    operationId: 'listMailboxes',
    access: 'admin',
    summary: 'Monitored mailboxes with their subscription state, and monitored groups.',
    responses: { '200': 'mailboxes and groups' },
  },
  {
    method: 'post',
    path: '/mailboxes',
    operationId: 'addMailbox',
    access: 'admin',
    summary: 'Monitor one mailbox by address, or every member of an Entra group.',
    description:
      'The mailbox is subscribed at once when the subscription lease is free, and a first ' +
      'catch-up sweep is queued.',
    body: { schema: addMailboxBodySchema },
    responses: {
      '200': 'the mailbox was already added directly',
      '201': 'added',
      '202': "the group was kept, but its members could not be listed yet; the sync retries",
      '404': 'no user with this address in the directory',
      '503': 'Graph is not configured',
    },
  },
  {
    method: 'delete',
    path: '/mailboxes/{mailbox}',
    operationId: 'removeMailbox',
    access: 'admin',
    summary: 'Stop monitoring a mailbox or a group, and delete their subscriptions.',
    description:
      'A mailbox that is still a member of a monitored group only loses its direct addition (200).',
    pathParameters: { mailbox: mailboxTargetSchema },
    responses: {
      '200': 'still monitored through a group',
      '204': 'removed',
      '404': 'not monitored',
    },
  },
  {
    method: 'get',
    path: '/status',
    operationId: 'getStatus',
    access: 'reader',
    summary: "Each mailbox's subscription state and problems, and the scan queue's backlog.",
    responses: { '200': 'status' },
  },
  {
    method: 'post',
    path: '/graph/notifications',
    operationId: 'receiveGraphNotifications',
    access: 'graph-webhook',
    summary: 'Graph change notifications: each authentic created message becomes a scan job.',
    query: graphWebhookQuerySchema,
    body: { schema: notificationCollectionSchema, required: false },
    responses: GRAPH_RESPONSES,
  },
  {
    method: 'post',
    path: '/graph/lifecycle',
    operationId: 'receiveGraphLifecycleNotifications',
    access: 'graph-webhook',
    summary: 'Graph lifecycle notifications: missed, reauthorizationRequired, subscriptionRemoved.',
    query: graphWebhookQuerySchema,
    body: { schema: notificationCollectionSchema, required: false },
    responses: GRAPH_RESPONSES,
  },
  {
    method: 'post',
    path: '/ews/notifications',
    operationId: 'receiveEwsNotifications',
    access: 'ews-webhook',
    summary: 'EWS push notifications (a SOAP SendNotification request) from on-premises Exchange.',
    query: ewsCallbackQuerySchema,
    body: { schema: z.string(), contentType: 'text/xml', required: true },
    responses: {
      '200': {
        description:
          'a SendNotificationResult: OK, or Unsubscribe for a subscription no longer kept',
        contentType: 'text/xml',
      },
      '400': 'not a valid SendNotification request',
      '401': 'wrong callback key',
      '503': 'the scan queue is unavailable; Exchange retries',
    },
  },
];

/** The real-time operations, for the OpenAPI document. */
export const REALTIME_AREA: ApiArea = {
  tag: 'real-time',
  description:
    'Monitored mailboxes, status, and the notification URLs that Graph and Exchange call.',
  operations: REALTIME_OPERATIONS,
};
