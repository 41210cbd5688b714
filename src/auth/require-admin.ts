import type { Settings } from '../config/settings.js';
import type { ApiRequest, ApiResponse } from '../functions-host/registry.js';
import type { AuthMode, Principal } from './principal.js';
import { requireUser } from './require-user.js';

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
  const user = requireUser(request, mode);
  if ('principal' in user && !user.principal.isAdmin) {
    return { response: { status: 403, json: { error: 'Administrators only' } } };
  }
  return user;
}

/**
 * Checks that the caller may read status and reports: an administrator or a holder of the reader
 * role. Returns the principal, or the response to send instead: 401 without a valid identity,
 * 403 for a signed-in caller with neither role.
 */
export function requireReader(
  request: ApiRequest,
  mode: AuthMode,
): { principal: Principal } | { response: ApiResponse } {
  const user = requireUser(request, mode);
  if ('principal' in user && !user.principal.isAdmin && user.principal.isReader !== true) {
    return { response: { status: 403, json: { error: 'Administrators and readers only' } } };
  }
  return user;
}
