import type { ApiRequest, ApiResponse } from '../functions-host/registry.js';

/** Maximum validationToken length echoed, in characters: a bound, not a documented limit. */
export const MAX_VALIDATION_TOKEN_LENGTH = 1024;

/**
 * Characters that never occur in Graph's tokens: C0 and C1 controls, markup and quote characters,
 * and invisible or bidirectional format characters. A token with any of them is rejected, so the
 * endpoint can never be used to reflect markup or forged log lines.
 */
const FORBIDDEN_TOKEN_CHARACTERS =
  /[\u0000-\u001f\u007f-\u009f<>"'&`\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/;

/**
 * Builds the response to Graph's subscription validation request, which carries
 * `?validationToken=`: the decoded token as text/plain with 200. Graph waits 10 seconds at most, so this runs before
 * any storage or network call. Returns undefined when the request is not a validation request.
 * @see https://learn.microsoft.com/graph/change-notifications-delivery-webhooks
 */
export function answerValidationRequest(request: ApiRequest): ApiResponse | undefined {
  const token = request.url.searchParams.get('validationToken');
  if (token === null) {
    return undefined;
  }
  const headers = {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
  };
  if (
    token.length === 0 ||
    token.length > MAX_VALIDATION_TOKEN_LENGTH ||
    FORBIDDEN_TOKEN_CHARACTERS.test(token)
  ) {
    return { status: 400, headers, body: 'Invalid validationToken' };
  }
  return { status: 200, headers, body: token };
}
