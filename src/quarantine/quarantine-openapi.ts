import { z } from 'zod';

import type { AuthMode } from '../auth/principal.js';
import { requireUser } from '../auth/require-user.js';
import type { ApiHandler } from '../functions-host/registry.js';

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

/**
 * The OpenAPI 3.1 document of the quarantine API, generated from the same zod schemas that
 * validate each request, so that the contract and the checks cannot drift apart. Query
 * parameters are the properties of each query schema; bodies are the schemas themselves, as
 * their input (what a client sends). Responses are described in words, except the error body.
 */

type JsonSchema = Record<string, unknown>;

interface Operation {
  method: 'get' | 'post' | 'put' | 'delete';
  path: string;
  operationId: string;
  summary: string;
  pathParameters?: Record<string, z.ZodType>;
  query?: z.ZodObject;
  body?: z.ZodType;
  responses: Record<string, string>;
}

const errorSchema = z.object({ error: z.string(), code: z.string().optional() });

const OPERATIONS: Operation[] = [
  {
    method: 'get',
    path: '/quarantine/items',
    operationId: 'listQuarantineItems',
    summary: 'List quarantined items newest first, one page at a time, with allowedActions per item.',
    query: listQuerySchema,
    responses: { '200': 'items and continuation', '400': 'invalid query' },
  },
  {
    method: 'get',
    path: '/quarantine/items/{id}',
    operationId: 'getQuarantineItem',
    summary: 'One item: metadata, release state, legal hold, allowedActions and a text-only preview.',
    pathParameters: { id: quarantineIdSchema },
    responses: { '200': 'item, preview', '404': 'unknown or not visible to the caller' },
  },
  {
    method: 'delete',
    path: '/quarantine/items/{id}',
    operationId: 'deleteQuarantineItem',
    summary: 'Delete the stored copy and its index rows.',
    pathParameters: { id: quarantineIdSchema },
    responses: { '204': 'deleted', '403': 'not allowed or on legal hold', '404': 'not found' },
  },
  {
    method: 'get',
    path: '/quarantine/items/{id}/message',
    operationId: 'downloadQuarantineMessage',
    summary:
      'Download the original message; format=zip wraps it in a zip encrypted with the password ' +
      '"infected" (the default for malware).',
    pathParameters: { id: quarantineIdSchema },
    query: downloadQuerySchema,
    responses: { '200': 'application/octet-stream or application/zip', '403': 'not allowed' },
  },
  {
    method: 'post',
    path: '/quarantine/items/{id}/release',
    operationId: 'releaseQuarantineItem',
    summary:
      'Release to the original folder (move from the hidden folder, else import of the stored ' +
      'copy), or, for administrators, copies to other recipients.',
    pathParameters: { id: quarantineIdSchema },
    body: releaseBodySchema,
    responses: {
      '200': 'released',
      '403': 'not allowed; users ask with release-requests',
      '409': 'already released',
      '502': 'mailbox operation failed; the item stays quarantined',
      '503': 'mailbox unavailable; the item stays quarantined',
    },
  },
  {
    method: 'post',
    path: '/quarantine/items/{id}/release-requests',
    operationId: 'requestQuarantineRelease',
    summary: 'Ask an administrator to release an item the caller may not release.',
    pathParameters: { id: quarantineIdSchema },
    body: releaseRequestBodySchema,
    responses: { '201': 'request created', '403': 'not allowed', '409': 'a request is pending' },
  },
  {
    method: 'put',
    path: '/quarantine/items/{id}/legal-hold',
    operationId: 'setQuarantineLegalHold',
    summary: 'Administrators: set or clear the legal hold. A held item is never purged or deleted.',
    pathParameters: { id: quarantineIdSchema },
    body: legalHoldBodySchema,
    responses: { '200': 'hold set or cleared', '403': 'administrators only' },
  },
  {
    method: 'get',
    path: '/quarantine/release-requests',
    operationId: 'listReleaseRequests',
    summary: 'Administrators: release requests of one status, newest first.',
    query: releaseRequestQuerySchema,
    responses: { '200': 'requests and continuation', '403': 'administrators only' },
  },
  {
    method: 'post',
    path: '/quarantine/release-requests/{requestId}/approve',
    operationId: 'approveReleaseRequest',
    summary: 'Administrators: approve a pending request, which performs the release.',
    pathParameters: { requestId: releaseRequestIdSchema },
    body: decisionBodySchema,
    responses: { '200': 'approved and released', '409': 'not pending', '502': 'release failed; still pending' },
  },
  {
    method: 'post',
    path: '/quarantine/release-requests/{requestId}/deny',
    operationId: 'denyReleaseRequest',
    summary: 'Administrators: deny a pending request.',
    pathParameters: { requestId: releaseRequestIdSchema },
    body: decisionBodySchema.omit({ allowSender: true }),
    responses: { '200': 'denied', '409': 'not pending' },
  },
  {
    method: 'post',
    path: '/quarantine/bulk',
    operationId: 'bulkQuarantineAction',
    summary: 'Release or delete items named by ids or matched by a filter, with a result per item.',
    body: bulkBodySchema(100),
    responses: { '200': 'results per item', '413': 'more items than one request may act on' },
  },
  {
    method: 'get',
    path: '/quarantine/audit',
    operationId: 'readQuarantineAudit',
    summary: 'Administrators: audit entries of one day or one item, newest first.',
    query: auditQuerySchema,
    responses: { '200': 'entries and continuation', '403': 'administrators only' },
  },
];

/** Builds the OpenAPI 3.1 document; `serverUrl` is the API's base, for example `/api`. */
export function buildOpenApiDocument(serverUrl = '/api'): JsonSchema {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of OPERATIONS) {
    paths[operation.path] ??= {};
    (paths[operation.path] as Record<string, unknown>)[operation.method] = toOperation(operation);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'mailsweep quarantine API',
      version: '1',
      description:
        'Callers sign in through App Service authentication. Every query and body is validated; ' +
        'an invalid one answers 400 with an error naming the field. Item actions a caller may ' +
        `take are listed in allowedActions, a subset of ${ITEM_ACTIONS.join(', ')}.`,
    },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      schemas: { Error: toSchema(errorSchema) },
    },
  };
}

function toOperation(operation: Operation): Record<string, unknown> {
  const parameters: Record<string, unknown>[] = [];
  for (const [name, schema] of Object.entries(operation.pathParameters ?? {})) {
    parameters.push({ name, in: 'path', required: true, schema: toSchema(schema) });
  }
  for (const [name, schema] of Object.entries(operation.query?.shape ?? {})) {
    const property = schema as z.ZodType;
    parameters.push({
      name,
      in: 'query',
      required: !property.safeParse(undefined).success,
      schema: toSchema(property),
    });
  }
  const responses: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(operation.responses)) {
    const isError = Number(status) >= 400;
    responses[status] = isError
      ? { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
      : { description };
  }
  responses['400'] ??= {
    description: 'invalid input, naming the field',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  };
  responses['401'] = { description: 'sign-in required' };
  return {
    operationId: operation.operationId,
    summary: operation.summary,
    parameters,
    ...(operation.body === undefined
      ? {}
      : { requestBody: { required: false, content: { 'application/json': { schema: toSchema(operation.body) } } } }),
    responses,
  };
}

function toSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as JsonSchema;
  return rest;
}

/**
 * Creates the handler of `GET /api/openapi.json`. The document contains no data, but it maps the API, so it is
 * served to signed-in callers only, like every other route.
 */
export function createOpenApiHandler(auth: AuthMode): ApiHandler {
  const document = buildOpenApiDocument();
  return async (request) => {
    const user = requireUser(request, auth);
    if ('response' in user) {
      return user.response;
    }
    return { status: 200, headers: { 'cache-control': 'no-store' }, json: document };
  };
}
