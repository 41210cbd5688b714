import { z } from 'zod';

import type { ApiArea } from '../functions-host/openapi.js';
import { countsQuerySchema } from './session-api.js';
import { UI_FILE_NAME } from './static-files.js';

/** The web interface's operations, for the OpenAPI document. */
export const WEBUI_AREA: ApiArea = {
  tag: 'web interface',
  description:
    'The files of the web interface and the two routes it calls beside the quarantine API.',
  operations: [
    {
      method: 'get',
      path: '/ui/{path}',
      operationId: 'getWebUiFile',
      access: 'anyone',
      summary: 'A file of the web interface.',
      description:
        'A catch-all route: /ui redirects to /ui/ (308), /ui/ serves index.html, and /ui/{path} ' +
        'serves one file of the flat webui folder. Any other name gets 404.',
      pathParameters: { path: z.string().regex(UI_FILE_NAME) },
      responses: {
        '200': { description: 'the file, with its content type', contentType: '*/*' },
        '308': 'redirect from /ui to /ui/',
        '404': { description: 'no such file', contentType: 'text/plain' },
      },
    },
    {
      method: 'head',
      path: '/ui/{path}',
      operationId: 'headWebUiFile',
      access: 'anyone',
      summary: 'The headers of a web interface file, without its body.',
      pathParameters: { path: z.string().regex(UI_FILE_NAME) },
      responses: {
        '200': 'the headers GET would send',
        '308': 'redirect from /ui to /ui/',
        '404': 'no such file',
      },
    },
    {
      method: 'get',
      path: '/quarantine/whoami',
      operationId: 'getCurrentCaller',
      access: 'signed-in',
      summary: 'The caller: id, mailbox, isAdmin, isReader and the sign-in method.',
      description:
        'A 401 also carries signIn, so that the interface can choose how to sign the caller in.',
      responses: { '200': 'the caller' },
    },
    {
      method: 'get',
      path: '/quarantine/counts',
      operationId: 'countQuarantineItems',
      access: 'signed-in',
      summary:
        "Counts of the caller's quarantined items by category, over their newest index rows.",
      query: countsQuerySchema,
      responses: {
        '200': 'counts by category; complete is false when only the newest rows were counted',
        '503': 'quarantine storage unavailable',
      },
    },
  ],
};
