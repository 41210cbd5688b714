import type { ApiArea } from '../functions-host/openapi.js';
import { scanRequestSchema } from './scan-request.js';
import { scanIdSchema, scanListQuerySchema, scanReportQuerySchema } from './scans-api.js';

/** The on-demand scan operations, for the OpenAPI document. */
export const SCANS_AREA: ApiArea = {
  tag: 'scans',
  description: 'Scans of chosen mailboxes over a time window, started on demand, with reports.',
  operations: [
    {
      method: 'get',
      path: '/scans',
      operationId: 'listScans',
      access: 'admin',
      summary: 'Recent scans, newest first.',
      query: scanListQuerySchema,
      responses: { '200': 'scans', '503': 'storage unavailable; try again' },
    },
    {
      method: 'post',
      path: '/scans',
      operationId: 'startScan',
      access: 'admin',
      summary: 'Start a scan of mailboxes (a list, an Entra group or all) over a time window.',
      description:
        'The window may not start in the future or span more than ' +
        'MAILSWEEP_SCAN_MAX_WINDOW_DAYS. ' +
        'A 400 names the invalid field in both error and field.',
      body: { schema: scanRequestSchema },
      responses: {
        '202': 'started; Location names the scan',
        '503': 'storage, the queue or Graph is unavailable, or Graph is not configured',
      },
    },
    {
      method: 'get',
      path: '/scans/{id}',
      operationId: 'getScan',
      access: 'admin',
      summary: "A scan's progress per mailbox and its totals.",
      pathParameters: { id: scanIdSchema },
      responses: { '200': 'progress', '404': 'no such scan' },
    },
    {
      method: 'delete',
      path: '/scans/{id}',
      operationId: 'cancelScan',
      access: 'admin',
      summary: 'Cancel a scan; mailboxes not yet started are skipped.',
      pathParameters: { id: scanIdSchema },
      responses: { '202': 'cancelled', '404': 'no such scan' },
    },
    {
      method: 'get',
      path: '/scans/{id}/report',
      operationId: 'getScanReport',
      access: 'admin',
      summary: 'One line per message of a finished or cancelled scan, as JSON or CSV.',
      pathParameters: { id: scanIdSchema },
      query: scanReportQuerySchema,
      responses: {
        '200': 'the report: JSON, or text/csv with format=csv',
        '404': 'no such scan',
        '409': 'the scan is still running',
      },
    },
  ],
};
