import { createHash, timingSafeEqual } from 'node:crypto';

import { z } from 'zod';

import type { ApiRequest } from '../functions-host/registry.js';

/**
 * Identity and role of an HTTP API's caller. In Azure, App Service authentication (Easy
 * Auth) signs the caller in with Entra ID and passes the identity in the `x-ms-client-principal`
 * header, which the platform strips from incoming requests, so that only the platform can set
 * it. Locally there is no Easy Auth: a bearer token from settings stands for an administrator.
 */

/** App role (Entra app roles, `roles` claim) that makes a caller an administrator. */
export const ADMIN_ROLE = 'Mailsweep.Admin';

/** App role that may list, preview and download every quarantined item, but change nothing. */
export const READER_ROLE = 'Mailsweep.Reader';

/** A signed-in caller. */
export interface Principal {
  /** Stable id of the account (Entra object id), or `local-admin`. */
  id: string;
  /** Lower-cased mail or user principal name from the sign-in claims. */
  mailbox?: string;
  /**
   * Every address whose mail this caller sees and owns, primary first: set from the directory by
   * `withOwnAddresses` (src/auth/own-addresses.ts), or from settings for the local user. Unset
   * means `mailbox` alone.
   */
  addresses?: readonly string[];
  isAdmin: boolean;
  /** Holds the reader role: may read every quarantined item. Unset means false. */
  isReader?: boolean;
}

/** Authentication method of HTTP requests. */
export type AuthMode =
  | { kind: 'app-service' }
  /**
   * Local runs only: bearer tokens compared in constant time. `adminToken` signs in the
   * administrator, `user.token` a user without a role whose address is `user.mailbox` and whose
   * aliases are `user.aliases`.
   */
  | {
      kind: 'local-token';
      adminToken: string;
      user?: { token: string; mailbox: string; aliases?: readonly string[] };
    };

const claimSchema = z.object({ typ: z.string().max(512), val: z.string().max(4096) });
const clientPrincipalSchema = z.object({
  auth_typ: z.string().max(256).optional(),
  claims: z.array(claimSchema).max(500),
});

const OBJECT_ID_CLAIMS = ['http://schemas.microsoft.com/identity/claims/objectidentifier', 'oid'];
const MAIL_CLAIMS = [
  'preferred_username',
  'email',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn',
  'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
];
const ROLE_CLAIMS = ['roles', 'http://schemas.microsoft.com/ws/2008/06/identity/claims/role'];

/** Returns the caller, or undefined when the request carries no valid identity. */
export function authenticate(request: ApiRequest, mode: AuthMode): Principal | undefined {
  if (mode.kind === 'local-token') {
    const header = request.headers.get('authorization') ?? '';
    // The scheme name is case-insensitive (RFC 9110, section 11.1).
    const token = /^bearer /i.test(header) ? header.slice('Bearer '.length) : '';
    if (token === '') {
      return undefined;
    }
    if (secretsEqual(token, mode.adminToken)) {
      return { id: 'local-admin', isAdmin: true };
    }
    if (mode.user !== undefined && secretsEqual(token, mode.user.token)) {
      const { mailbox, aliases = [] } = mode.user;
      return { id: 'local-user', mailbox, addresses: [mailbox, ...aliases], isAdmin: false };
    }
    return undefined;
  }
  const encoded = request.headers.get('x-ms-client-principal');
  if (!encoded || encoded.length > 64 * 1024) {
    return undefined;
  }
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    return undefined;
  }
  const parsed = clientPrincipalSchema.safeParse(decoded);
  if (!parsed.success) {
    return undefined;
  }
  const claims = parsed.data.claims;
  const first = (types: string[]) => claims.find((claim) => types.includes(claim.typ))?.val;
  const id = first(OBJECT_ID_CLAIMS);
  if (!id) {
    return undefined;
  }
  const mailbox = first(MAIL_CLAIMS)?.toLowerCase();
  const hasRole = (role: string) =>
    claims.some((claim) => ROLE_CLAIMS.includes(claim.typ) && claim.val === role);
  return { id, mailbox, isAdmin: hasRole(ADMIN_ROLE), isReader: hasRole(READER_ROLE) };
}

/** Compares two secrets in constant time (over their SHA-256 digests, so lengths may differ). */
export function secretsEqual(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b);
}
