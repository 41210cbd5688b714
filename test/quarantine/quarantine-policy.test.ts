import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { Principal } from '../../src/auth/principal.js';
import { allowedActions, type PolicyItem } from '../../src/quarantine/quarantine-policy.js';

const admin: Principal = { id: 'a', mailbox: 'admin@contoso.com', isAdmin: true };
const reader: Principal = { id: 'r', mailbox: 'reader@contoso.com', isAdmin: false, isReader: true };
const owner: Principal = { id: 'o', mailbox: 'owner@contoso.com', isAdmin: false };
const recipient: Principal = { id: 'c', mailbox: 'cc@contoso.com', isAdmin: false };
// Signed in as their primary address, with the item's mailbox among their aliases.
const aliasOwner: Principal = {
  id: 'l',
  mailbox: 'primary@contoso.com',
  addresses: ['primary@contoso.com', 'owner@contoso.com'],
  isAdmin: false,
};
// The claim names the item's mailbox, but the directory listed other addresses only.
const unconfirmedClaim: Principal = {
  id: 'u',
  mailbox: 'owner@contoso.com',
  addresses: ['someone@contoso.com'],
  isAdmin: false,
};

const item = (overrides: Partial<PolicyItem> = {}): PolicyItem => ({
  mailbox: 'Owner@Contoso.com',
  category: 'spam',
  ...overrides,
});

describe('allowedActions', () => {
  const cases: [string, Principal, PolicyItem, string[]][] = [
    ['admin, spam', admin, item(), ['download', 'release', 'delete']],
    ['admin, released malware', admin, item({ category: 'malware', releasedAt: 'x' }), ['download', 'delete']],
    ['admin, held', admin, item({ legalHold: true }), ['download', 'release']],
    ['admin, no mailbox', admin, item({ mailbox: undefined }), ['download', 'delete']],
    ['admin, empty mailbox', admin, item({ mailbox: ' ' }), ['download', 'delete']],
    ['reader, malware of another', reader, item({ category: 'malware' }), ['download']],
    ['reader, own spam', reader, item({ mailbox: 'reader@contoso.com' }), ['download', 'release', 'delete']],
    ['owner, spam', owner, item(), ['download', 'release', 'delete']],
    ['owner, malware', owner, item({ category: 'malware' }), ['request-release', 'delete']],
    ['owner, phishing', owner, item({ category: 'phishing' }), ['request-release', 'delete']],
    ['owner, policy', owner, item({ category: 'policy' }), ['download', 'request-release', 'delete']],
    ['owner, unscannable', owner, item({ category: 'unscannable' }), ['request-release', 'delete']],
    ['recipient, unscannable', recipient, item({ category: 'unscannable' }), []],
    ['reader, unscannable of another', reader, item({ category: 'unscannable' }), ['download']],
    ['owner, released spam', owner, item({ releasedAt: 'x' }), ['download', 'delete']],
    ['owner, held malware', owner, item({ category: 'malware', legalHold: true }), ['request-release']],
    ['recipient, spam', recipient, item(), ['download']],
    ['recipient, malware', recipient, item({ category: 'malware' }), []],
    ['alias owner, spam', aliasOwner, item(), ['download', 'release', 'delete']],
    ['alias owner, malware', aliasOwner, item({ category: 'malware' }), ['request-release', 'delete']],
    ['unconfirmed claim, spam', unconfirmedClaim, item(), ['download']],
  ];
  for (const [name, principal, policyItem, expected] of cases) {
    it(name, () => {
      assert.deepEqual(allowedActions(principal, policyItem), expected);
    });
  }

  it('never treats an addressless caller as owner', () => {
    const anonymous: Principal = { id: 'x', isAdmin: false };
    assert.deepEqual(allowedActions(anonymous, item({ category: 'malware' })), []);
    assert.deepEqual(allowedActions(anonymous, item({ mailbox: undefined })), ['download']);
  });
});
