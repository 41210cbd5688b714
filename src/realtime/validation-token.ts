import { z } from 'zod';

import type { ApiRequest, ApiResponse } from '../functions-host/registry.js';

/** Maximum validationToken length echoed, in characters: a bound, not a documented limit. */
export const MAX_VALIDATION_TOKEN_LENGTH = 1024;

/**
 * Characters that never occur in Graph's tokens: C0 and C1 controls, markup and quote characters,
 * and invisible or bidirectional format characters. A token with any of them is rejected, so the
 * endpoint can never be used to reflect markup or forged log lines.
 */
const ALLOWED_TOKEN =
  /^[^\u0000-\u001f\u007f-\u009f<>"'&`\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]*$/;

/** The validationToken query parameter of Graph's subscription validation request. */
export const validationTokenSchema = z
  .string()
  .min(1)
  .max(MAX_VALIDATION_TOKEN_LENGTH)
  .regex(ALLOWED_TOKEN, 'contains a control, markup, quote or invisible character')
  .meta({ description: "Graph's subscription validation token, echoed as text/plain." });

/** Query of the Graph notification and lifecycle endpoints. Other parameters are ignored. */
export const graphWebhookQuerySchema = z.object({
  validationToken: validationTokenSchema.optional(),
});

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
  if (!validationTokenSchema.safeParse(token).success) {
    return { status: 400, headers, body: 'Invalid validationToken' };
  }
  return { status: 200, headers, body: token };
}
