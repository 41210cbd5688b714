import { VERDICTS_AREA } from '../arrival/verdicts-openapi.js';
import type { AuthMode } from '../auth/principal.js';
import { requireUser } from '../auth/require-user.js';
import {
  buildOpenApiDocument,
  type ApiArea,
  type JsonObject,
} from '../functions-host/openapi.js';
import type { ApiHandler } from '../functions-host/registry.js';
import { QUARANTINE_AREA } from '../quarantine/quarantine-openapi.js';
import { REALTIME_AREA } from '../realtime/realtime-openapi.js';
import { RULES_AREA } from '../rules/rules-openapi.js';
import { SCANS_AREA } from '../scans/scans-openapi.js';
import { WEBUI_AREA } from '../webui/webui-openapi.js';

/** Routes of the app itself: its health and this document. */
const SERVICE_AREA: ApiArea = {
  tag: 'service',
  description: 'Health of the app and its engines, and this OpenAPI document.',
  operations: [
    {
      method: 'get',
      path: '/health',
      operationId: 'getHealth',
      access: 'function-key',
      summary: "Settings validity and each engine's status, version and signature date.",
      responses: { '200': 'every engine is ready', '503': 'an engine or the settings failed' },
    },
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'getOpenApiDocument',
      access: 'signed-in',
      summary: 'This OpenAPI 3.1 document.',
      description:
        'It contains no data, but it maps the API, so only signed-in callers may read it.',
      responses: { '200': 'the document' },
    },
  ],
};

/** Every area of the HTTP API, in the order the document lists them. */
export const API_AREAS: readonly ApiArea[] = [
  QUARANTINE_AREA,
  WEBUI_AREA,
  REALTIME_AREA,
  SCANS_AREA,
  RULES_AREA,
  VERDICTS_AREA,
  SERVICE_AREA,
];

/** Builds the OpenAPI 3.1 document of every HTTP route of mailsweep. */
export function buildMailsweepOpenApi(serverUrl = '/api'): JsonObject {
  return buildOpenApiDocument(
    API_AREAS,
    {
      title: 'mailsweep API',
      version: '1',
      description:
        'Every HTTP route of mailsweep. Callers sign in through App Service authentication, ' +
        'and each operation lists the Entra app roles it needs in x-mailsweep-roles, where ' +
        '`signed-in` is any signed-in caller. Graph and Exchange call their notification ' +
        'URLs without signing in and are checked as each operation describes. Every query ' +
        'and body is validated, and an invalid one gets 400 with an error naming the field.',
    },
    serverUrl,
  );
}

/** Creates the handler of `GET /api/openapi.json`, served to signed-in callers only. */
export function createOpenApiHandler(auth: AuthMode): ApiHandler {
  const document = buildMailsweepOpenApi();
  return async (request) => {
    const user = requireUser(request, auth);
    if ('response' in user) {
      return user.response;
    }
    return { status: 200, headers: { 'cache-control': 'no-store' }, json: document };
  };
}
