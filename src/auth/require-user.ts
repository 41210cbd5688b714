import type { ApiRequest, ApiResponse } from '../functions-host/registry.js';
import { authenticate, type AuthMode, type Principal } from './principal.js';

/**
 * Checks that the caller is signed in, with or without a role. Returns the principal, or a 401
 * response for a request without a valid identity. What the caller may then see is up to the
 * handler: a caller without a role sees only mail of their own addresses (primary and aliases).
 */
export function requireUser(
  request: ApiRequest,
  mode: AuthMode,
): { principal: Principal } | { response: ApiResponse } {
  const principal = authenticate(request, mode);
  if (principal === undefined) {
    const headers: Record<string, string> =
      mode.kind === 'local-token' ? { 'www-authenticate': 'Bearer' } : {};
    return { response: { status: 401, headers, json: { error: 'Sign-in required' } } };
  }
  return { principal };
}

/** True when the caller may read every quarantined item: an administrator or a reader. */
export function canReadEverything(principal: Principal): boolean {
  return principal.isAdmin || principal.isReader === true;
}
