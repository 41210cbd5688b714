import type { Settings } from '../config/settings.js';
import type { ApiRequest, ApiResponse } from '../functions-host/registry.js';
import { authenticate, type AuthMode, type Principal } from './principal.js';

/** Returns the authentication mode the settings choose. */
export function toAuthMode(settings: Settings['auth']): AuthMode {
  if (settings.mode === 'local-token' && settings.localAdminToken !== undefined) {
    return {
      kind: 'local-token',
      adminToken: settings.localAdminToken,
      user: settings.localUser,
    };
  }
  return { kind: 'app-service' };
}

/**
 * Checks that the caller is an administrator. Returns the principal, or the response to send
 * instead: 401 without a valid identity, 403 for a signed-in caller without the admin role.
 */
export function requireAdmin(
  request: ApiRequest,
  mode: AuthMode,
): { principal: Principal } | { response: ApiResponse } {
  const principal = authenticate(request, mode);
  if (principal === undefined) {
    const headers: Record<string, string> =
      mode.kind === 'local-token' ? { 'www-authenticate': 'Bearer' } : {};
    return { response: { status: 401, headers, json: { error: 'Sign-in required' } } };
  }
  if (!principal.isAdmin) {
    return { response: { status: 403, json: { error: 'Administrators only' } } };
  }
  return { principal };
}
