import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';

import { possibleValues, Unresolved } from './arm-expressions.js';
import {
  compileBicep,
  findBicepCli,
  listDeployedResources,
  MAIN_BICEP,
  ownName,
  REPOSITORY_ROOT,
  scopeOf,
  type DeployedResource,
} from './arm-template.js';
import {
  codeReceiveQueueNames,
  codeSendQueueNames,
  codeTableNames,
  containerSettingKeys,
  findDataPlaneOperations,
  settingDefault,
  settingKeys,
  type DataPlaneOperation,
} from './code-inventory.js';

// Compares infra/bicep/main.bicep, compiled by the Bicep CLI, with what the code needs. CI restores
// the CLI (scripts/check-bicep.sh) and sets REQUIRE_BICEP_CLI=1, so there a missing CLI fails.
const cli = findBicepCli();
const skip =
  cli === undefined && process.env.REQUIRE_BICEP_CLI !== '1'
    ? 'the Bicep CLI is not restored; run scripts/check-bicep.sh (needs dotnet) to restore it'
    : false;

/**
 * Settings the template deliberately leaves unset, each with the reason. A key that the
 * template sets must not be listed, and every listed key must still exist in the code.
 */
const LEFT_UNSET = JSON.parse(
  readFileSync(path.join(REPOSITORY_ROOT, 'infra/settings-left-unset.json'), 'utf8'),
) as Record<string, string>;

/** Settings that carry a credential: the template may set them only to a Key Vault reference. */
const SECRET_SETTINGS = /PASSWORD|SECRET|TOKEN|CONNECTION_STRING|^MAILSWEEP_SERVICEBUS$/;

/** Operations the app survives without; the template grants them only when this parameter is true. */
const OPTIONAL_OPERATIONS: Partial<Record<DataPlaneOperation, string>> = {
  'service-bus:read-queue': 'grantQueueStatusRole',
};

/** Built-in role definition ids by role name. */
const ROLE_IDS: Record<string, string> = {
  'Storage Blob Data Owner': 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  'Storage Blob Data Contributor': 'ba92f5b4-2d11-453d-a403-e96b0029c9fe',
  'Storage Blob Data Reader': '2a2b9908-6ea1-4ae2-8e65-a410df84e7d1',
  'Storage Table Data Contributor': '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  'Storage Table Data Reader': '76199698-9eea-4c19-bc75-cec21354c6b6',
  'Azure Service Bus Data Sender': '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39',
  'Azure Service Bus Data Receiver': '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0',
  'Azure Service Bus Data Owner': '090c5cfd-751d-490a-894a-3ce6f1109419',
  'Key Vault Secrets User': '4633458b-17de-408a-b874-0445c86b69e6',
  'Key Vault Secrets Officer': 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
};

/** Roles that allow each operation, and the resource type of the narrowest scope it needs. */
const OPERATION_ROLES: Record<string, { roles: string[]; scopeType: string }> = {
  'blob:read': {
    roles: ['Storage Blob Data Reader', 'Storage Blob Data Contributor', 'Storage Blob Data Owner'],
    scopeType: 'Microsoft.Storage/storageAccounts/blobServices/containers',
  },
  'blob:write': {
    roles: ['Storage Blob Data Contributor', 'Storage Blob Data Owner'],
    scopeType: 'Microsoft.Storage/storageAccounts/blobServices/containers',
  },
  // Blob index tags need the tags/read and tags/write data actions, which among the built-in
  // storage roles only Storage Blob Data Owner has.
  'blob:tags': {
    roles: ['Storage Blob Data Owner'],
    scopeType: 'Microsoft.Storage/storageAccounts/blobServices/containers',
  },
  'table:read': {
    roles: ['Storage Table Data Reader', 'Storage Table Data Contributor'],
    scopeType: 'Microsoft.Storage/storageAccounts/tableServices/tables',
  },
  'table:write': {
    roles: ['Storage Table Data Contributor'],
    scopeType: 'Microsoft.Storage/storageAccounts/tableServices/tables',
  },
  'service-bus:send': {
    roles: ['Azure Service Bus Data Sender', 'Azure Service Bus Data Owner'],
    scopeType: 'Microsoft.ServiceBus/namespaces/queues',
  },
  'service-bus:receive': {
    roles: ['Azure Service Bus Data Receiver', 'Azure Service Bus Data Owner'],
    scopeType: 'Microsoft.ServiceBus/namespaces/queues',
  },
  // Runtime properties come from the management endpoint, which needs the Manage right; of the
  // built-in data roles only Data Owner has it. The template grants it only by parameter.
  'service-bus:read-queue': {
    roles: ['Azure Service Bus Data Owner'],
    scopeType: 'Microsoft.ServiceBus/namespaces/queues',
  },
  'key-vault:get-secret': {
    roles: ['Key Vault Secrets User', 'Key Vault Secrets Officer'],
    scopeType: 'Microsoft.KeyVault/vaults',
  },
};

const RESOURCE_TYPES = {
  container: 'Microsoft.Storage/storageAccounts/blobServices/containers',
  table: 'Microsoft.Storage/storageAccounts/tableServices/tables',
  queue: 'Microsoft.ServiceBus/namespaces/queues',
  appSettings: 'Microsoft.Web/sites/config',
  site: 'Microsoft.Web/sites',
  roleAssignment: 'Microsoft.Authorization/roleAssignments',
} as const;

describe('deployment template against the code', { skip }, () => {
  let template: Record<string, unknown>;
  let resources: DeployedResource[];
  let appSettings: Record<string, unknown>;
  // The same settings with every parameter of main.bicep unknown, as an operator may set it.
  let appSettingsForAnyParameters: Record<string, unknown>;

  before(() => {
    assert.ok(cli, 'the Bicep CLI is required here but was not found');
    template = compileBicep(cli, MAIN_BICEP);
    resources = listDeployedResources(template);
    appSettings = readAppSettings(resources);
    appSettingsForAnyParameters = readAppSettings(listDeployedResources(template, 'unknown'));
  });

  it('sets or deliberately leaves unset every setting', () => {
    const missing = settingKeys().filter(
      (key) => !Object.hasOwn(appSettings, key) && !Object.hasOwn(LEFT_UNSET, key),
    );
    assert.deepEqual(missing, [], 'set these in main.bicep or list them with a reason in infra/settings-left-unset.json');
  });

  it('sets no setting the code rejects', () => {
    const known = new Set(settingKeys());
    const unknown = Object.keys(appSettings).filter(
      (key) => key.startsWith('MAILSWEEP_') && !known.has(key),
    );
    assert.deepEqual(unknown, [], 'the strict settings schema rejects these keys at start-up');
  });

  it('keeps the left-unset list current', () => {
    const known = new Set(settingKeys());
    const stale = Object.keys(LEFT_UNSET).filter((key) => !known.has(key));
    assert.deepEqual(stale, [], 'these keys are no longer settings of the code');
    const alsoSet = Object.keys(LEFT_UNSET).filter((key) => Object.hasOwn(appSettings, key));
    assert.deepEqual(alsoSet, [], 'these keys are set by the template and listed as left unset');
    const withoutReason = Object.entries(LEFT_UNSET).filter(([, reason]) => reason.trim() === '');
    assert.deepEqual(withoutReason, [], 'every left-unset key needs a reason');
  });

  it('sets secrets only as Key Vault references', () => {
    // Only mailsweep's own keys: the Application Insights connection string names a resource and
    // is no credential, because the resource accepts Entra authentication only.
    for (const [key, value] of Object.entries(appSettingsForAnyParameters)) {
      if (!key.startsWith('MAILSWEEP_') || !SECRET_SETTINGS.test(key)) {
        continue;
      }
      for (const option of possibleValues(value)) {
        assert.ok(
          option === '' || isKeyVaultReference(option),
          `${key} must be empty or a Key Vault reference, not ${describeValue(option)}`,
        );
      }
    }
  });

  it('creates every table the code uses', () => {
    const created = namesOfType(resources, RESOURCE_TYPES.table);
    const missing = codeTableNames().filter((table) => !created.has(table));
    assert.deepEqual(missing, [], 'add these tables to main.bicep');
  });

  it('creates every queue the code uses', async () => {
    const created = namesOfType(resources, RESOURCE_TYPES.queue);
    const used = new Set([...codeSendQueueNames(), ...(await codeReceiveQueueNames())]);
    const missing = [...used].filter((queue) => !created.has(queue));
    assert.deepEqual(missing, [], 'add these queues to main.bicep');
  });

  it('matches the max delivery count of queue and app', () => {
    const appCount = appSettings.MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT ?? settingDefault('MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT');
    for (const queue of resources.filter((resource) => resource.type === RESOURCE_TYPES.queue)) {
      assert.equal(
        String(queue.properties.maxDeliveryCount),
        String(appCount),
        `queue ${String(ownName(queue))} must dead-letter after the delivery the app records as its last`,
      );
      assert.equal(queue.properties.deadLetteringOnMessageExpiration, true);
    }
  });

  it('creates every blob container the code uses', () => {
    const created = namesOfType(resources, RESOURCE_TYPES.container);
    const missing = codeContainerNames(appSettings).filter((container) => !created.has(container));
    assert.deepEqual(missing, [], 'add these containers to main.bicep');
  });

  it('grants a role for every data-plane operation', async () => {
    const operations = await requiredOperations(appSettings);
    const found = new Set(operations.map(({ operation }) => operation));
    for (const expected of ['blob:write', 'table:write', 'service-bus:send', 'service-bus:receive']) {
      assert.ok(found.has(expected as DataPlaneOperation), `the code scan found no ${expected}`);
    }
    const principal = functionAppPrincipal(resources);
    const gaps: string[] = [];
    for (const { operation, targets, source } of operations) {
      const parameter = OPTIONAL_OPERATIONS[operation];
      const deployed =
        parameter === undefined ? resources : listDeployedResources(template, { [parameter]: true });
      const assignments = deployed.filter((resource) => resource.type === RESOURCE_TYPES.roleAssignment);
      const { roles, scopeType } = OPERATION_ROLES[operation] ?? { roles: [], scopeType: '' };
      const roleIds = new Set(roles.map((role) => ROLE_IDS[role]));
      for (const target of targets) {
        const granted = assignments.some(
          (assignment) =>
            isPrincipal(assignment, principal) &&
            roleIds.has(roleIdOf(assignment)) &&
            scopeOf(assignment)?.type === scopeType &&
            (target === '*' || scopeOf(assignment)?.segments.at(-1) === target),
        );
        if (!granted) {
          gaps.push(`${operation} on ${target} (${source}) needs one of: ${roles.join(', ')}`);
        }
      }
    }
    assert.deepEqual(gaps, [], 'add role assignments to modules/role-assignments.bicep');
  });

  it('grants optional roles only by parameter', () => {
    const principal = functionAppPrincipal(resources);
    for (const [operation, parameter] of Object.entries(OPTIONAL_OPERATIONS)) {
      const roleIds = new Set(OPERATION_ROLES[operation]?.roles.map((role) => ROLE_IDS[role]));
      const granted = resources.filter(
        (resource) =>
          resource.type === RESOURCE_TYPES.roleAssignment &&
          isPrincipal(resource, principal) &&
          roleIds.has(roleIdOf(resource)),
      );
      assert.deepEqual(granted, [], `${operation} must need ${parameter}=true`);
    }
  });

  it('gives Graph sign-in a user-assigned identity', () => {
    const sites = resources.filter((resource) => resource.type === RESOURCE_TYPES.site);
    const identity = sites[0]?.identity as
      | { type?: unknown; userAssignedIdentities?: unknown }
      | undefined;
    const identityResource = resources.find(
      (resource) => resource.type === 'Microsoft.ManagedIdentity/userAssignedIdentities',
    );
    assert.ok(identityResource, 'the Graph federated credential needs a user-assigned managed identity');
    // The system-assigned identity stays, because every role assignment names it.
    assert.equal(identity?.type, 'SystemAssigned, UserAssigned');
    assert.ok(identity?.userAssignedIdentities, 'the site must attach the user-assigned identity');
    const clientId = appSettings.MAILSWEEP_GRAPH_MANAGED_IDENTITY_CLIENT_ID;
    assert.ok(clientId instanceof Unresolved, 'the client id must come from the identity resource');
    assert.match(clientId.text, /clientId/);
  });

  it('turns on App Service authentication for app-service mode', () => {
    assert.equal(appSettings.MAILSWEEP_AUTH_MODE, 'app-service');
    const authentication = resources.filter(
      (resource) => resource.type === RESOURCE_TYPES.appSettings && ownName(resource) === 'authsettingsV2',
    );
    assert.equal(authentication.length, 1, 'without it, x-ms-client-principal could be forged');
    const platform = authentication[0]?.properties.platform as { enabled?: unknown } | undefined;
    assert.equal(platform?.enabled, true);
  });

  it('lets the Functions host use its storage account', () => {
    assert.ok(appSettings.AzureWebJobsStorage__accountName, 'AzureWebJobsStorage__accountName is not set');
    const principal = functionAppPrincipal(resources);
    const owner = resources.some(
      (resource) =>
        resource.type === RESOURCE_TYPES.roleAssignment &&
        isPrincipal(resource, principal) &&
        roleIdOf(resource) === ROLE_IDS['Storage Blob Data Owner'] &&
        scopeOf(resource)?.type === 'Microsoft.Storage/storageAccounts',
    );
    assert.ok(owner, 'the host needs Storage Blob Data Owner on the AzureWebJobsStorage account');
  });
});

/** The function app's app settings, MAILSWEEP_PUBLIC_BASE_URL added by the module included. */
function readAppSettings(resources: DeployedResource[]): Record<string, unknown> {
  const config = resources.filter(
    (resource) => resource.type === RESOURCE_TYPES.appSettings && ownName(resource) === 'appsettings',
  );
  assert.equal(config.length, 1, 'the template must deploy exactly one appsettings resource');
  const settings = config[0]?.properties;
  assert.ok(
    settings !== undefined && !(settings instanceof Unresolved),
    'the app settings must be an object whose keys are known before deployment',
  );
  return settings;
}

function namesOfType(resources: DeployedResource[], type: string): Set<unknown> {
  return new Set(resources.filter((resource) => resource.type === type).map(ownName));
}

/** Container names: the template's value of each *_CONTAINER setting, or the code default. */
function codeContainerNames(appSettings: Record<string, unknown>): string[] {
  return containerSettingKeys().map((key) => {
    const value = appSettings[key] ?? settingDefault(key);
    assert.equal(typeof value, 'string', `${key} must be known before deployment`);
    return value as string;
  });
}

/** One operation on its targets (container, table or queue names; `*` for the whole vault). */
interface RequiredOperation {
  operation: DataPlaneOperation;
  targets: string[];
  source: string;
}

async function requiredOperations(appSettings: Record<string, unknown>): Promise<RequiredOperation[]> {
  const containers = codeContainerNames(appSettings);
  const tables = codeTableNames();
  const sendQueues = codeSendQueueNames();
  const receiveQueues = await codeReceiveQueueNames();
  const required: RequiredOperation[] = findDataPlaneOperations().map(({ operation, files }) => {
    const source = files.join(', ');
    if (operation === 'blob:tags') {
      // Only the quarantine store tags blobs, for the lifecycle rules of its container.
      const quarantine = appSettings.MAILSWEEP_QUARANTINE_CONTAINER ?? settingDefault('MAILSWEEP_QUARANTINE_CONTAINER');
      assert.deepEqual(files, ['src/quarantine/blob-quarantine-store.ts'], 'blob tags set outside the quarantine store');
      return { operation, targets: [String(quarantine)], source };
    }
    if (operation.startsWith('blob:')) {
      return { operation, targets: containers, source };
    }
    if (operation.startsWith('table:')) {
      return { operation, targets: tables, source };
    }
    if (operation.startsWith('service-bus:')) {
      return { operation, targets: sendQueues, source };
    }
    return { operation, targets: ['*'], source };
  });
  required.push({
    operation: 'service-bus:receive',
    targets: receiveQueues,
    source: 'queue triggers registered by functions/',
  });
  const vaultReferences = Object.entries(appSettings).filter(([, value]) =>
    possibleValues(value).some(isKeyVaultReference),
  );
  if (vaultReferences.length > 0) {
    required.push({
      operation: 'key-vault:get-secret',
      targets: ['*'],
      source: `Key Vault references in ${vaultReferences.map(([key]) => key).join(', ')}`,
    });
  }
  return required;
}

/** The module deployment that contains the function app, whose principalId output is its identity. */
function functionAppPrincipal(resources: DeployedResource[]): string {
  const sites = resources.filter((resource) => resource.type === RESOURCE_TYPES.site);
  assert.equal(sites.length, 1, 'the template must deploy exactly one function app');
  const deployment = sites[0]?.deploymentPath.at(-1);
  assert.ok(deployment, 'the function app must be deployed by a module');
  return deployment;
}

/** True when the assignment's principal is the function app module's principalId output. */
function isPrincipal(assignment: DeployedResource, deployment: string): boolean {
  const principal = assignment.properties.principalId;
  return (
    principal instanceof Unresolved &&
    principal.text.includes(`'${deployment}'`) &&
    principal.text.includes('.outputs.principalId')
  );
}

function roleIdOf(assignment: DeployedResource): string {
  const id = assignment.properties.roleDefinitionId as { segments?: unknown[] } | undefined;
  return String(id?.segments?.at(-1));
}

function describeValue(value: unknown): string {
  return value instanceof Unresolved ? `an expression (${value.text})` : JSON.stringify(value);
}

function isKeyVaultReference(value: unknown): boolean {
  const text = value instanceof Unresolved ? value.knownPrefix : value;
  return typeof text === 'string' && text.startsWith('@Microsoft.KeyVault(');
}
