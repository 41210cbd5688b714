import { z } from 'zod';

/**
 * Builds an OpenAPI 3.1 document from operation tables. Each API area exports its table next to
 * the zod schemas its handlers validate with, so the document and the checks cannot drift apart.
 * Query parameters are the properties of an operation's query schema, and bodies are the schemas
 * themselves, each converted by zod's `z.toJSONSchema` as its input: what a client sends, before
 * transforms and defaults apply. Responses are described in words, except the shared error body.
 * @see https://spec.openapis.org/oas/v3.1.0
 */

export type JsonObject = Record<string, unknown>;

/**
 * Who may call an operation:
 * - `admin`: the Mailsweep.Admin app role.
 * - `reader`: Mailsweep.Admin or Mailsweep.Reader.
 * - `signed-in`: any signed-in caller; a caller without a role sees only mail addressed to them.
 * - `graph-webhook`: Microsoft Graph, checked by the validationToken handshake and clientState.
 * - `ews-webhook`: Exchange, checked by the per-subscription key in the callback URL's query.
 * - `function-key`: a caller with a key of the Functions host (authorization level `function`).
 * - `anyone`: no check by mailsweep; App Service authentication may still sign the browser in.
 */
export type OperationAccess =
  | 'admin'
  | 'reader'
  | 'signed-in'
  | 'graph-webhook'
  | 'ews-webhook'
  | 'function-key'
  | 'anyone';

/** Roles of the `x-mailsweep-roles` extension; `signed-in` is any caller that signed in. */
export const ACCESS_ROLES: Readonly<Record<OperationAccess, readonly string[]>> = {
  admin: ['Mailsweep.Admin'],
  reader: ['Mailsweep.Admin', 'Mailsweep.Reader'],
  'signed-in': ['Mailsweep.Admin', 'Mailsweep.Reader', 'signed-in'],
  'graph-webhook': [],
  'ews-webhook': [],
  'function-key': [],
  anyone: [],
};

/** A response of an operation: a description, and the media type when the body is not JSON. */
export type OperationResponse = string | { description: string; contentType: string };

/** A request body: a zod schema, or a media type whose body is not JSON (text, MIME, XML). */
export interface OperationBody {
  schema: z.ZodType;
  /** Default application/json. */
  contentType?: string;
  /** True when an empty body is rejected. Default: for JSON, whether the schema rejects `{}`. */
  required?: boolean;
  /** Further media types the route accepts, each with its schema. */
  otherContent?: Record<string, z.ZodType>;
}

/** One HTTP operation of the API. */
export interface ApiOperation {
  method: 'get' | 'head' | 'post' | 'put' | 'patch' | 'delete';
  /** Path below the server URL, with `{name}` parameters, e.g. `/mailboxes/{mailbox}`. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  access: OperationAccess;
  pathParameters?: Record<string, z.ZodType>;
  /** Request headers the handler reads and validates, by lower-case name. */
  headers?: Record<string, z.ZodType>;
  query?: z.ZodObject;
  body?: OperationBody;
  responses: Record<string, OperationResponse>;
}

/** A group of operations with the tag they are listed under. */
export interface ApiArea {
  tag: string;
  description: string;
  operations: readonly ApiOperation[];
}

/** The error body every JSON error response shares. */
export const errorBodySchema = z.object({
  error: z.string().meta({ description: 'What failed. A 400 names the invalid field.' }),
  code: z.string().optional(),
  field: z.string().optional().meta({ description: 'The invalid field, where one is known.' }),
  issues: z
    .array(z.object({ path: z.string(), rule: z.string().optional(), message: z.string() }))
    .optional()
    .meta({ description: 'Every problem of an invalid rule set or list, by path.' }),
});

const ERROR_REF = { $ref: '#/components/schemas/Error' };

/** Security schemes of the document, named in each operation's `security`. */
const SECURITY_SCHEMES: JsonObject = {
  appServiceAuthentication: {
    type: 'apiKey',
    in: 'header',
    name: 'x-ms-client-principal',
    description:
      'Set by App Service authentication after the caller signs in with Entra ID: base64 JSON ' +
      'of the claims, with Entra app roles in the roles claim. The platform removes this header ' +
      'from incoming requests, so only it can set the header. Without App Service ' +
      'authentication in front, every request is refused. Role names in a requirement are ' +
      'app roles.',
  },
  localBearerToken: {
    type: 'http',
    scheme: 'bearer',
    description:
      'Local development only (MAILSWEEP_AUTH_MODE=local-token): MAILSWEEP_LOCAL_ADMIN_TOKEN ' +
      'signs in an administrator and MAILSWEEP_LOCAL_USER_TOKEN a user without a role.',
  },
  ewsCallbackKey: {
    type: 'apiKey',
    in: 'query',
    name: 'key',
    description:
      'Secret of one EWS push subscription, sent in the callback URL that mailsweep gave ' +
      'Exchange, and compared in constant time with its stored SHA-256 digest.',
  },
  functionKey: {
    type: 'apiKey',
    in: 'header',
    name: 'x-functions-key',
    description:
      'A function or host key of the Functions app. The code query parameter also carries one.',
  },
};

/** Builds the OpenAPI 3.1 document of `areas`; `serverUrl` is the API's base, such as `/api`. */
export function buildOpenApiDocument(
  areas: readonly ApiArea[],
  info: { title: string; version: string; description: string },
  serverUrl = '/api',
): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const area of areas) {
    for (const operation of area.operations) {
      paths[operation.path] ??= {};
      const pathItem = paths[operation.path] as JsonObject;
      if (pathItem[operation.method] !== undefined) {
        throw new Error(`OpenAPI operation ${operation.method} ${operation.path} is listed twice`);
      }
      pathItem[operation.method] = toOperation(operation, area.tag);
    }
  }
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: serverUrl }],
    tags: areas.map((area) => ({ name: area.tag, description: area.description })),
    paths,
    components: {
      schemas: { Error: toJsonSchema(errorBodySchema) },
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

function toOperation(operation: ApiOperation, tag: string): JsonObject {
  return {
    operationId: operation.operationId,
    tags: [tag],
    summary: operation.summary,
    description: [operation.description, accessSentence(operation.access)]
      .filter((text) => text !== undefined)
      .join('\n\n'),
    parameters: toParameters(operation),
    ...(operation.body === undefined ? {} : { requestBody: toRequestBody(operation.body) }),
    responses: toResponses(operation),
    security: toSecurity(operation.access),
    'x-mailsweep-roles': ACCESS_ROLES[operation.access],
  };
}

function toParameters(operation: ApiOperation): JsonObject[] {
  const parameters: JsonObject[] = [];
  for (const [name, schema] of Object.entries(operation.pathParameters ?? {})) {
    parameters.push({ name, in: 'path', required: true, schema: toJsonSchema(schema) });
  }
  for (const [name, schema] of Object.entries(operation.headers ?? {})) {
    const required = !schema.safeParse(undefined).success;
    parameters.push({ name, in: 'header', required, schema: toJsonSchema(schema) });
  }
  for (const [name, schema] of Object.entries(operation.query?.shape ?? {})) {
    const property = schema as z.ZodType;
    const description = property.description;
    parameters.push({
      name,
      in: 'query',
      required: !property.safeParse(undefined).success,
      ...(description === undefined ? {} : { description }),
      schema: toJsonSchema(property),
    });
  }
  return parameters;
}

function toRequestBody(body: OperationBody): JsonObject {
  const contentType = body.contentType ?? 'application/json';
  // A JSON body whose schema rejects `{}` cannot be left out: an empty body fails the same way.
  const required =
    body.required ?? (contentType === 'application/json' && !body.schema.safeParse({}).success);
  const content: JsonObject = { [contentType]: { schema: toJsonSchema(body.schema) } };
  for (const [other, schema] of Object.entries(body.otherContent ?? {})) {
    content[other] = { schema: toJsonSchema(schema) };
  }
  return { required, content };
}

function toResponses(operation: ApiOperation): JsonObject {
  const responses: JsonObject = {};
  for (const [status, response] of Object.entries(operation.responses)) {
    responses[status] = toResponse(status, response);
  }
  const hasInput =
    operation.query !== undefined ||
    operation.body !== undefined ||
    operation.headers !== undefined ||
    operation.pathParameters !== undefined;
  if (hasInput) {
    responses['400'] ??= toResponse('400', 'invalid input; the error names the field');
  }
  if (operation.body !== undefined) {
    responses['413'] ??= toResponse('413', "the body is larger than the route's limit");
  }
  const access = operation.access;
  if (access === 'admin' || access === 'reader' || access === 'signed-in') {
    responses['401'] ??= toResponse('401', 'sign-in required');
  }
  if (access === 'admin' || access === 'reader') {
    responses['403'] ??= toResponse('403', 'the caller lacks the role');
  }
  return responses;
}

function toResponse(status: string, response: OperationResponse): JsonObject {
  if (typeof response !== 'string') {
    return {
      description: response.description,
      content: { [response.contentType]: { schema: { type: 'string' } } },
    };
  }
  if (Number(status) >= 400) {
    return { description: response, content: { 'application/json': { schema: ERROR_REF } } };
  }
  return { description: response };
}

/**
 * Returns the operation's security requirements: any one of them admits the caller. OpenAPI 3.1
 * lets a requirement of an apiKey or http scheme name roles, which here are Entra app roles.
 */
function toSecurity(access: OperationAccess): JsonObject[] {
  switch (access) {
    case 'admin':
    case 'reader':
      return ACCESS_ROLES[access].flatMap((role) => [
        { appServiceAuthentication: [role] },
        { localBearerToken: [role] },
      ]);
    case 'signed-in':
      return [{ appServiceAuthentication: [] }, { localBearerToken: [] }];
    case 'ews-webhook':
      return [{ ewsCallbackKey: [] }];
    case 'function-key':
      return [{ functionKey: [] }];
    case 'graph-webhook':
    case 'anyone':
      return [{}];
  }
}

function accessSentence(access: OperationAccess): string {
  switch (access) {
    case 'admin':
      return 'Access: administrators (app role Mailsweep.Admin).';
    case 'reader':
      return 'Access: administrators and readers (app roles Mailsweep.Admin, Mailsweep.Reader).';
    case 'signed-in':
      return (
        'Access: any signed-in caller. Administrators and readers see every item; a caller ' +
        'without a role sees and acts only on mail addressed to their own addresses.'
      );
    case 'graph-webhook':
      return (
        'Access: Microsoft Graph. A POST with a validationToken query parameter is the ' +
        'subscription validation handshake and is answered with the token as text/plain. ' +
        "Otherwise each item's clientState must match its subscription's secret, and items " +
        'that fail the check are dropped.'
      );
    case 'ews-webhook':
      return (
        'Access: Exchange. The callback URL carries the subscription row (id) and its secret ' +
        '(key); a wrong key gets 401.'
      );
    case 'function-key':
      return (
        'Access: in Azure, callers with a key of the Functions host. The local host (npm start) ' +
        'has no keys and serves it to any caller on 127.0.0.1.'
      );
    case 'anyone':
      return 'Access: anyone who reaches the app; the content holds no data.';
  }
}

/** Converts a zod schema to JSON Schema 2020-12, the dialect of OpenAPI 3.1, as its input. */
export function toJsonSchema(schema: z.ZodType): JsonObject {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as JsonObject;
  return rest;
}

/** Converts a Functions route template (`ui/{*path}`) to an OpenAPI path (`/ui/{path}`). */
export function toOpenApiPath(route: string): string {
  const segments = route.split('/').filter((segment) => segment !== '');
  const converted = segments.map((segment) =>
    segment.replace(/^\{\*?([A-Za-z0-9_]+)\??\}$/, '{$1}'),
  );
  return `/${converted.join('/')}`;
}
