import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Choice, evaluateString, possibleValues, Unresolved, type Scope } from './arm-expressions.js';
import { listDeployedResources, ownName } from './arm-template.js';

const scope: Scope = {
  parameters: { name: 'stdata', tables: ['mailboxes', 'leases'], enabled: true },
  variables: { roles: { reader: 'guid-1' }, vault: 'kv-1' },
};

describe('ARM expression evaluator', () => {
  it('reads parameters, variables and members', () => {
    assert.equal(evaluateString("[parameters('name')]", scope), 'stdata');
    assert.equal(evaluateString("[variables('roles').reader]", scope), 'guid-1');
    assert.equal(evaluateString("[variables('roles')['reader']]", scope), 'guid-1');
    assert.equal(evaluateString("[parameters('tables')[1]]", { ...scope }), 'leases');
  });

  it('keeps literal strings and escaped brackets', () => {
    assert.equal(evaluateString('managedidentity', scope), 'managedidentity');
    assert.equal(evaluateString('[[not an expression]', scope), '[not an expression]');
    assert.equal(evaluateString("['it''s']", scope), "it's");
  });

  it('formats known arguments', () => {
    const value = evaluateString("[format('@Microsoft.KeyVault(VaultName={0};SecretName=x)', variables('vault'))]", scope);
    assert.equal(value, '@Microsoft.KeyVault(VaultName=kv-1;SecretName=x)');
  });

  it('keeps the known prefix of a partly unknown format', () => {
    const value = evaluateString("[format('https://{0}/api', reference('app').defaultHostName)]", scope);
    assert.ok(value instanceof Unresolved);
    assert.equal(value.knownPrefix, 'https://');
  });

  it('returns both branches of an unknown condition', () => {
    const value = evaluateString("[if(parameters('missing'), 'a', '')]", scope);
    assert.ok(value instanceof Choice);
    assert.deepEqual(possibleValues(value), ['a', '']);
    assert.equal(evaluateString("[if(parameters('enabled'), 'a', '')]", scope), 'a');
  });

  it('merges objects with union and createObject', () => {
    const value = evaluateString("[union(createObject('A', '1'), createObject('B', parameters('name')))]", scope);
    assert.deepEqual(value, { A: '1', B: 'stdata' });
  });

  it('reads resource ids', () => {
    const value = evaluateString(
      "[resourceId('Microsoft.Storage/storageAccounts/tableServices/tables', parameters('name'), 'default', 'leases')]",
      scope,
    );
    assert.deepEqual(value, {
      kind: 'resourceId',
      type: 'Microsoft.Storage/storageAccounts/tableServices/tables',
      segments: ['stdata', 'default', 'leases'],
    });
  });

  it('rejects malformed expressions', () => {
    assert.throws(() => evaluateString("[parameters('name']", scope), /Expected/);
  });
});

describe('deployed resource listing', () => {
  // A compiled template in the shape bicep build emits: a module with a copy loop over a
  // parameter, a conditional module that is off, and an existing reference.
  const template = {
    parameters: { withNetwork: { type: 'bool', defaultValue: false } },
    variables: { tables: ['mailboxes', 'leases'] },
    resources: [
      {
        type: 'Microsoft.Resources/deployments',
        name: 'storage',
        properties: {
          parameters: { names: { value: "[variables('tables')]" }, account: { value: 'stdata' } },
          template: {
            parameters: { names: { type: 'array' }, account: { type: 'string' } },
            resources: {
              tables: {
                copy: { name: 'tables', count: "[length(parameters('names'))]" },
                type: 'Microsoft.Storage/storageAccounts/tableServices/tables',
                name: "[format('{0}/{1}/{2}', parameters('account'), 'default', parameters('names')[copyIndex()])]",
              },
              account: {
                existing: true,
                type: 'Microsoft.Storage/storageAccounts',
                name: "[parameters('account')]",
              },
            },
          },
        },
      },
      {
        condition: "[parameters('withNetwork')]",
        type: 'Microsoft.Resources/deployments',
        name: 'network',
        properties: {
          template: {
            resources: [{ type: 'Microsoft.Network/virtualNetworks', name: 'vnet' }],
          },
        },
      },
    ],
  };

  it('expands loops inside modules', () => {
    const resources = listDeployedResources(template);
    const tables = resources.filter((resource) => resource.type.endsWith('/tables'));
    assert.deepEqual(tables.map(ownName), ['mailboxes', 'leases']);
    assert.deepEqual(tables[0]?.nameSegments, ['stdata', 'default', 'mailboxes']);
    assert.deepEqual(tables[0]?.deploymentPath, ['storage']);
  });

  it('leaves out existing and disabled resources', () => {
    const types = listDeployedResources(template).map((resource) => resource.type);
    assert.ok(!types.includes('Microsoft.Storage/storageAccounts'));
    assert.ok(!types.includes('Microsoft.Network/virtualNetworks'));
  });
});
