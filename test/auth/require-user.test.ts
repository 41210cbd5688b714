import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { authenticate, type AuthMode } from '../../src/auth/principal.js';
import { toAuthMode } from '../../src/auth/require-admin.js';
import { canReadEverything, requireUser } from '../../src/auth/require-user.js';
import { loadSettings } from '../../src/config/settings.js';
import type { ApiRequest } from '../../src/functions-host/registry.js';
import { ScannerError } from '../../src/shared/errors.js';

const ADMIN_TOKEN = 'admin-token-of-at-least-thirty-two-chars';
const USER_TOKEN = 'user-token-of-at-least-thirty-two-chars!';

function request(headers: Record<string, string>): ApiRequest {
  return {
    method: 'GET',
    url: new URL('http://127.0.0.1/api/quarantine/items'),
    headers: new Headers(headers),
    params: {},
    body: Buffer.alloc(0),
  };
}

function principalHeader(claims: { typ: string; val: string }[]): string {
  return Buffer.from(JSON.stringify({ auth_typ: 'aad', claims })).toString('base64');
}

const localMode = toAuthMode(
  loadSettings({
    MAILSWEEP_AUTH_MODE: 'local-token',
    MAILSWEEP_LOCAL_ADMIN_TOKEN: ADMIN_TOKEN,
    MAILSWEEP_LOCAL_USER_TOKEN: USER_TOKEN,
    MAILSWEEP_LOCAL_USER_ADDRESS: 'Dev.User@Contoso.com',
  }).auth,
);

describe('local-token mode', () => {
  it('signs in the local user with the user token', () => {
    const principal = authenticate(request({ authorization: `Bearer ${USER_TOKEN}` }), localMode);
    assert.deepEqual(principal, {
      id: 'local-user',
      mailbox: 'dev.user@contoso.com',
      addresses: ['dev.user@contoso.com'],
      isAdmin: false,
    });
  });

  it('gives the local user the aliases from settings', () => {
    const withAliases: AuthMode = {
      kind: 'local-token',
      adminToken: ADMIN_TOKEN,
      user: { token: USER_TOKEN, mailbox: 'dev.user@contoso.com', aliases: ['dev.alias@contoso.com'] },
    };
    const principal = authenticate(request({ authorization: `Bearer ${USER_TOKEN}` }), withAliases);
    assert.deepEqual(principal?.addresses, ['dev.user@contoso.com', 'dev.alias@contoso.com']);
  });

  it('signs in the administrator with the admin token', () => {
    const principal = authenticate(request({ authorization: `Bearer ${ADMIN_TOKEN}` }), localMode);
    assert.equal(principal?.isAdmin, true);
  });

  it('accepts the scheme in any case', () => {
    const principal = authenticate(request({ authorization: `bearer ${ADMIN_TOKEN}` }), localMode);
    assert.equal(principal?.isAdmin, true);
  });

  it('rejects any other token', () => {
    const response = requireUser(request({ authorization: `Bearer ${USER_TOKEN}x` }), localMode);
    assert.ok('response' in response);
    assert.equal(response.response.status, 401);
  });

  it('requires the address with the user token', () => {
    assert.throws(
      () =>
        loadSettings({
          MAILSWEEP_AUTH_MODE: 'local-token',
          MAILSWEEP_LOCAL_ADMIN_TOKEN: ADMIN_TOKEN,
          MAILSWEEP_LOCAL_USER_TOKEN: USER_TOKEN,
        }),
      (error: unknown) =>
        error instanceof ScannerError && error.message.includes('MAILSWEEP_LOCAL_USER_ADDRESS'),
    );
  });

  it('rejects a user token equal to the admin token', () => {
    assert.throws(
      () =>
        loadSettings({
          MAILSWEEP_AUTH_MODE: 'local-token',
          MAILSWEEP_LOCAL_ADMIN_TOKEN: ADMIN_TOKEN,
          MAILSWEEP_LOCAL_USER_TOKEN: ADMIN_TOKEN,
          MAILSWEEP_LOCAL_USER_ADDRESS: 'dev@contoso.com',
        }),
      (error: unknown) =>
        error instanceof ScannerError && !error.message.includes(ADMIN_TOKEN),
    );
  });
});

describe('app-service mode roles', () => {
  const mode = { kind: 'app-service' } as const;

  it('reads the reader role', () => {
    const header = principalHeader([
      { typ: 'oid', val: 'oid-1' },
      { typ: 'roles', val: 'Mailsweep.Reader' },
    ]);
    const principal = authenticate(request({ 'x-ms-client-principal': header }), mode);
    assert.equal(principal?.isReader, true);
    assert.equal(principal?.isAdmin, false);
    assert.equal(principal !== undefined && canReadEverything(principal), true);
  });

  it('gives a user without a role no wider reading', () => {
    const header = principalHeader([
      { typ: 'oid', val: 'oid-2' },
      { typ: 'preferred_username', val: 'User@Contoso.com' },
    ]);
    const principal = authenticate(request({ 'x-ms-client-principal': header }), mode);
    assert.equal(principal?.mailbox, 'user@contoso.com');
    assert.equal(principal !== undefined && canReadEverything(principal), false);
  });

  it('ignores a bearer token', () => {
    const response = requireUser(request({ authorization: `Bearer ${ADMIN_TOKEN}` }), mode);
    assert.ok('response' in response);
  });
});
