import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

import '../../functions/index.js';
import { API_AREAS, buildMailsweepOpenApi } from '../../src/app/openapi.js';
import { toOpenApiPath } from '../../src/functions-host/openapi.js';
import { registeredFunctions } from '../../src/functions-host/registry.js';

type Operation = {
  operationId: string;
  parameters: { name: string; in: string; required: boolean; schema: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  security: Record<string, string[]>[];
  'x-mailsweep-roles': string[];
};

const document = buildMailsweepOpenApi() as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
};

/** Lists every operation of the document as `METHOD /path` with its object. */
function documentedOperations(): [string, Operation][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]): [string, Operation] => [
      `${method.toUpperCase()} ${path}`,
      operation,
    ]),
  );
}

describe('OpenAPI document', () => {
  it('documents every registered route', () => {
    const registered = registeredFunctions().http.flatMap((route) =>
      route.methods.map((method) => `${method} ${toOpenApiPath(route.route)}`),
    );
    const documented = new Set(documentedOperations().map(([key]) => key));
    const missing = registered.filter((key) => !documented.has(key));
    const message = `registered routes missing from the document: ${missing.join(', ')}`;
    assert.deepEqual(missing, [], message);
  });

  it('documents no route that is not registered', () => {
    const registered = new Set(
      registeredFunctions().http.flatMap((route) =>
        route.methods.map((method) => `${method} ${toOpenApiPath(route.route)}`),
      ),
    );
    const extra = documentedOperations()
      .map(([key]) => key)
      .filter((key) => !registered.has(key));
    assert.deepEqual(extra, [], `documented operations with no route: ${extra.join(', ')}`);
  });

  it('is valid OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(structuredClone(document));
    assert.equal(validator.version, '3.1');
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2));
  });

  it('holds only schemas that compile as JSON Schema 2020-12', () => {
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats.default(ajv);
    // OpenAPI 3.1 adds these keywords to JSON Schema, although zod writes none of them.
    ajv.addVocabulary(['discriminator', 'xml', 'externalDocs', 'example']);
    ajv.addSchema(document.components.schemas.Error as object, '#/components/schemas/Error');
    for (const [key, operation] of documentedOperations()) {
      const schemas = [
        ...operation.parameters.map((parameter) => parameter.schema),
        ...Object.values(operation.requestBody?.content ?? {}).map((media) => media.schema),
      ];
      for (const schema of schemas) {
        assert.doesNotThrow(() => ajv.compile(schema as object), key);
      }
    }
  });

  it('declares each path parameter of the path', () => {
    for (const [key, operation] of documentedOperations()) {
      const path = key.slice(key.indexOf(' ') + 1);
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]).sort();
      const declared = operation.parameters
        .filter((parameter) => parameter.in === 'path')
        .map((parameter) => parameter.name)
        .sort();
      assert.deepEqual(declared, templated, key);
      for (const parameter of operation.parameters.filter((p) => p.in === 'path')) {
        assert.equal(parameter.required, true, `${key} ${parameter.name}`);
      }
    }
  });

  it('gives every operation a unique operationId', () => {
    const ids = documentedOperations().map(([, operation]) => operation.operationId);
    const repeated = ids.filter((id, index) => ids.indexOf(id) !== index);
    assert.deepEqual(repeated, []);
  });

  it('states the roles and security of every operation', () => {
    for (const [key, operation] of documentedOperations()) {
      assert.ok(Array.isArray(operation['x-mailsweep-roles']), key);
      assert.ok(operation.security.length > 0, key);
      for (const requirement of operation.security) {
        for (const scheme of Object.keys(requirement)) {
          assert.ok(document.components.securitySchemes[scheme], `${key}: ${scheme}`);
        }
      }
    }
  });

  it('requires the admin role for administration routes', () => {
    for (const key of ['PUT /rules', 'POST /mailboxes', 'POST /scans', 'GET /quarantine/audit']) {
      const operation = documentedOperations().find(([k]) => k === key)?.[1];
      assert.ok(operation, key);
      assert.deepEqual(operation['x-mailsweep-roles'], ['Mailsweep.Admin'], key);
      assert.deepEqual(operation.security[0], { appServiceAuthentication: ['Mailsweep.Admin'] }, key);
    }
  });

  it('describes the webhook checks', () => {
    const graph = document.paths['/graph/notifications']?.post;
    assert.ok(graph?.parameters.some((parameter) => parameter.name === 'validationToken'));
    assert.deepEqual(graph?.security, [{}]);
    const ews = document.paths['/ews/notifications']?.post;
    assert.deepEqual(ews?.security, [{ ewsCallbackKey: [] }]);
    assert.ok(ews?.parameters.some((parameter) => parameter.name === 'id' && parameter.in === 'query'));
  });

  it('refers every JSON error response to the shared error body', () => {
    for (const [key, operation] of documentedOperations()) {
      for (const [status, response] of Object.entries(operation.responses)) {
        const json = response.content?.['application/json'];
        if (Number(status) >= 400 && json !== undefined) {
          assert.deepEqual(json.schema, { $ref: '#/components/schemas/Error' }, `${key} ${status}`);
        }
      }
    }
  });

  it('documents request bodies as their input', () => {
    // A transform (lower-casing the address) must not hide the input type.
    const addMailbox = document.paths['/mailboxes']?.post;
    const schema = JSON.stringify(addMailbox?.requestBody?.content['application/json']?.schema);
    assert.match(schema, /"address":\{"type":"string"/);
    // A query value parsed to a number is still sent as a string.
    const verdicts = document.paths['/verdicts']?.get;
    const limit = verdicts?.parameters.find((parameter) => parameter.name === 'limit');
    assert.equal((limit?.schema as { type: string }).type, 'string');
    assert.equal(limit?.required, false);
  });

  it('lists each area under its own tag', () => {
    const tags = new Set(API_AREAS.map((area) => area.tag));
    assert.equal(tags.size, API_AREAS.length);
  });
});
