import type { ApiArea } from '../functions-host/openapi.js';
import { jsonListSchema, listNameSchema, textListSchema } from './rule-lists-api.js';
import { ruleSetSchema } from './rule-schema.js';
import { ifMatchVersionSchema, ruleTestMessageSchema } from './rules-api.js';

const RULE_STORE_DOWN = 'the rule store is unavailable';

/** The rule set and list operations, for the OpenAPI document. */
export const RULES_AREA: ApiArea = {
  tag: 'rules',
  description: "The administrator's rule set, its named list files, and a dry run on one message.",
  operations: [
    {
      method: 'get',
      path: '/rules',
      operationId: 'getRuleSet',
      access: 'admin',
      summary: 'The rule set in force, with its version.',
      responses: {
        '200': 'the stored rule set',
        '404': 'no rule set stored',
        '503': RULE_STORE_DOWN,
      },
    },
    {
      method: 'put',
      path: '/rules',
      operationId: 'putRuleSet',
      access: 'admin',
      summary: 'Store a new version of the rule set after compiling it.',
      description:
        'A 400 lists every problem in issues, each with the path of its field; list files named ' +
        'by the set must exist. If-Match makes the write conditional on the version read.',
      headers: { 'if-match': ifMatchVersionSchema },
      body: { schema: ruleSetSchema, required: true },
      responses: {
        '200': 'stored; the new version and time',
        '409': 'another version was stored since the If-Match version',
        '503': RULE_STORE_DOWN,
      },
    },
    {
      method: 'post',
      path: '/rules/test',
      operationId: 'testRuleSet',
      access: 'admin',
      summary: 'Scan one message with the stored rule set and trace every rule evaluated.',
      description: 'Nothing is stored and no mailbox is touched.',
      body: { schema: ruleTestMessageSchema, contentType: 'message/rfc822', required: true },
      responses: {
        '200': 'verdict and trace',
        '404': 'no rule set stored',
        '503': RULE_STORE_DOWN,
      },
    },
    {
      method: 'get',
      path: '/rules/lists/{name}',
      operationId: 'getRuleList',
      access: 'admin',
      summary: 'A list file, one entry per line.',
      pathParameters: { name: listNameSchema },
      responses: {
        '200': { description: 'the list', contentType: 'text/plain' },
        '404': 'no such list',
        '503': RULE_STORE_DOWN,
      },
    },
    {
      method: 'put',
      path: '/rules/lists/{name}',
      operationId: 'putRuleList',
      access: 'admin',
      summary: 'Store a list file, as text lines or JSON.',
      description:
        'The list is checked as a list file first. When the rule set in force uses it, that set ' +
        'is stored again as a new version, so that running scanners load the new entries.',
      pathParameters: { name: listNameSchema },
      body: {
        schema: textListSchema,
        contentType: 'text/plain',
        required: true,
        otherContent: { 'application/json': jsonListSchema },
      },
      responses: { '200': 'stored; entries and the new rule set version', '503': RULE_STORE_DOWN },
    },
    {
      method: 'delete',
      path: '/rules/lists/{name}',
      operationId: 'deleteRuleList',
      access: 'admin',
      summary: 'Delete a list file that the rule set in force does not use.',
      pathParameters: { name: listNameSchema },
      responses: {
        '204': 'deleted',
        '404': 'no such list',
        '409': 'the rule set in force uses the list',
        '503': RULE_STORE_DOWN,
      },
    },
  ],
};
