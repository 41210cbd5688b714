import type { ApiArea, ApiOperation } from '../functions-host/openapi.js';
import { auditQuerySchema } from './quarantine-audit-api.js';
import { listQuerySchema } from './quarantine-access.js';
import { downloadQuerySchema, legalHoldBodySchema } from './quarantine-api.js';
import { bulkBodySchema } from './quarantine-bulk-api.js';
import { quarantineIdSchema } from './quarantine-id.js';
import { ITEM_ACTIONS } from './quarantine-policy.js';
import {
  decisionBodySchema,
  releaseBodySchema,
  releaseRequestBodySchema,
  releaseRequestQuerySchema,
} from './quarantine-release-api.js';
import { releaseRequestIdSchema } from './release-requests.js';

const QUARANTINE_OPERATIONS: ApiOperation[] = [
  {
    method: 'get',
    path: '/quarantine/items',
    operationId: 'listQuarantineItems',
    access: 'signed-in',
    summary: 'List quarantined items newest first, one page at a time, with allowedActions per item.',
    query: listQuerySchema,
    responses: { '200': 'items and continuation', '400': 'invalid query' },
  },
  {
    method: 'get',
    path: '/quarantine/items/{id}',
    operationId: 'getQuarantineItem',
    access: 'signed-in',
    summary: 'One item: metadata, release state, legal hold, allowedActions and a text-only preview.',
    pathParameters: { id: quarantineIdSchema },
    responses: { '200': 'item, preview', '404': 'unknown or not visible to the caller' },
  },
  {
    method: 'delete',
    path: '/quarantine/items/{id}',
    operationId: 'deleteQuarantineItem',
    access: 'signed-in',
    summary: 'Delete the stored copy and its index rows.',
    pathParameters: { id: quarantineIdSchema },
    responses: { '204': 'deleted', '403': 'not allowed or on legal hold', '404': 'not found' },
  },
  {
    method: 'get',
    path: '/quarantine/items/{id}/message',
    operationId: 'downloadQuarantineMessage',
    access: 'signed-in',
    summary:
      'Download the original message; format=zip wraps it in a zip encrypted with the password ' +
      '"infected" (the default for malware and unscannable items).',
    pathParameters: { id: quarantineIdSchema },
    query: downloadQuerySchema,
    responses: { '200': 'application/octet-stream or application/zip', '403': 'not allowed' },
  },
  {
    method: 'post',
    path: '/quarantine/items/{id}/release',
    operationId: 'releaseQuarantineItem',
    access: 'signed-in',
    summary:
      'Release to the original folder (move from the hidden folder, else import of the stored ' +
      'copy), or, for administrators, copies to other recipients.',
    pathParameters: { id: quarantineIdSchema },
    body: { schema: releaseBodySchema },
    responses: {
      '200': 'released',
      '403': 'not allowed; users ask with release-requests',
      '409': 'already released, or no mailbox (an item from the command line) and no recipients',
      '502': 'mailbox operation failed; the item stays quarantined',
      '503': 'mailbox unavailable; the item stays quarantined',
    },
  },
  {
    method: 'post',
    path: '/quarantine/items/{id}/release-requests',
    operationId: 'requestQuarantineRelease',
    access: 'signed-in',
    summary: 'Ask an administrator to release an item the caller may not release.',
    pathParameters: { id: quarantineIdSchema },
    body: { schema: releaseRequestBodySchema },
    responses: { '201': 'request created', '403': 'not allowed', '409': 'a request is pending' },
  },
  {
    method: 'put',
    path: '/quarantine/items/{id}/legal-hold',
    operationId: 'setQuarantineLegalHold',
    access: 'admin',
    summary: 'Administrators: set or clear the legal hold. A held item is never purged or deleted.',
    pathParameters: { id: quarantineIdSchema },
    body: { schema: legalHoldBodySchema },
    responses: { '200': 'hold set or cleared', '403': 'administrators only' },
  },
  {
    method: 'get',
    path: '/quarantine/release-requests',
    operationId: 'listReleaseRequests',
    access: 'admin',
    summary: 'Administrators: release requests of one status, newest first.',
    query: releaseRequestQuerySchema,
    responses: { '200': 'requests and continuation', '403': 'administrators only' },
  },
  {
    method: 'post',
    path: '/quarantine/release-requests/{requestId}/approve',
    operationId: 'approveReleaseRequest',
    access: 'admin',
    summary: 'Administrators: approve a pending request, which performs the release.',
    pathParameters: { requestId: releaseRequestIdSchema },
    body: { schema: decisionBodySchema },
    responses: {
      '200': 'approved and released',
      '409': 'not pending',
      '502': 'release failed; still pending',
    },
  },
  {
    method: 'post',
    path: '/quarantine/release-requests/{requestId}/deny',
    operationId: 'denyReleaseRequest',
    access: 'admin',
    summary: 'Administrators: deny a pending request.',
    pathParameters: { requestId: releaseRequestIdSchema },
    body: { schema: decisionBodySchema.omit({ allowSender: true }) },
    responses: { '200': 'denied', '409': 'not pending' },
  },
  {
    method: 'post',
    path: '/quarantine/bulk',
    operationId: 'bulkQuarantineAction',
    access: 'signed-in',
    summary: 'Release or delete items named by ids or matched by a filter, with a result per item.',
    body: {
      schema: bulkBodySchema(100).describe(
        'Bulk action on at most MAILSWEEP_QUARANTINE_MAX_BULK_ITEMS items (default 100)',
      ),
    },
    responses: { '200': 'results per item', '413': 'more items than one request may act on' },
  },
  {
    method: 'get',
    path: '/quarantine/audit',
    operationId: 'readQuarantineAudit',
    access: 'admin',
    summary: 'Administrators: audit entries of one day or one item, newest first.',
    query: auditQuerySchema,
    responses: { '200': 'entries and continuation', '403': 'administrators only' },
  },
];

/** The quarantine API's operations, for the OpenAPI document. */
export const QUARANTINE_AREA: ApiArea = {
  tag: 'quarantine',
  description:
    'Quarantined items: list, preview, download, release, release requests, legal hold, bulk ' +
    `actions and the audit log. The actions a caller may take on an item are listed in its ` +
    `allowedActions, a subset of ${ITEM_ACTIONS.join(', ')}.`,
  operations: QUARANTINE_OPERATIONS,
};
