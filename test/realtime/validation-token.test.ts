import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { ApiRequest } from '../../src/functions-host/registry.js';
import { answerValidationRequest } from '../../src/realtime/validation-token.js';

function requestWithQuery(query: string): ApiRequest {
  return {
    method: 'POST',
    url: new URL(`http://127.0.0.1/api/graph/notifications${query}`),
    headers: new Headers(),
    params: {},
    body: Buffer.alloc(0),
  };
}

describe('answerValidationRequest', () => {
  it('echoes the decoded token as plain text', () => {
    const token =
      'Validation: Testing client application reachability for subscription Request-Id: 3b3f';
    const answer = answerValidationRequest(
      requestWithQuery(`?validationToken=${encodeURIComponent(token)}`),
    );
    assert.equal(answer?.status, 200);
    assert.equal(answer?.body, token);
    assert.equal(answer?.headers?.['content-type'], 'text/plain; charset=utf-8');
    assert.equal(answer?.headers?.['x-content-type-options'], 'nosniff');
  });

  it('ignores a request without a token', () => {
    assert.equal(answerValidationRequest(requestWithQuery('')), undefined);
  });

  const rejected: [string, string][] = [
    ['markup', '<script>alert(1)</script>'],
    ['an ampersand entity', 'a&lt;b'],
    ['a quote', 'a"b'],
    ['a line break', 'ok\r\nSet-Cookie: x=1'],
    ['a NUL', 'a\u0000b'],
    ['a C1 control', 'a\u0085b'],
    ['a bidi override', 'a\u202eb'],
    ['an empty value', ''],
    ['an absurd length', 'a'.repeat(1025)],
  ];
  for (const [name, token] of rejected) {
    it(`rejects ${name}`, () => {
      const answer = answerValidationRequest(
        requestWithQuery(`?validationToken=${encodeURIComponent(token)}`),
      );
      assert.equal(answer?.status, 400);
      assert.notEqual(answer?.body, token);
      assert.equal(answer?.headers?.['content-type'], 'text/plain; charset=utf-8');
    });
  }
});
