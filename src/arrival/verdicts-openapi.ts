import type { ApiArea } from '../functions-host/openapi.js';
import {
  DEFAULT_RANGE_DAYS,
  MAX_ALL_MAILBOXES_RANGE_DAYS,
  verdictsQuerySchema,
} from './verdicts-api.js';

/** The verdict log's operation, for the OpenAPI document. */
export const VERDICTS_AREA: ApiArea = {
  tag: 'verdicts',
  description: 'The log of every verdict that scan on arrival reached.',
  operations: [
    {
      method: 'get',
      path: '/verdicts',
      operationId: 'listVerdicts',
      access: 'reader',
      summary: 'Verdicts newest first, by mailbox or across all mailboxes, one page at a time.',
      description:
        `from and to default to the last ${DEFAULT_RANGE_DAYS} days. Without mailbox the ` +
        `range may span at most ${MAX_ALL_MAILBOXES_RANGE_DAYS} days, because each day is one ` +
        'partition read.',
      query: verdictsQuerySchema,
      responses: { '200': 'verdicts and continuation', '503': 'the verdict log is unavailable' },
    },
  ],
};
