// Data-plane role assignments of the function app's managed identity, each scoped to the
// narrowest resource that the app uses: single containers, tables and queues where Azure RBAC
// allows it, the vault and the Application Insights resource otherwise.

@description('Required. Object id of the function app\'s managed identity.')
param principalId string

@description('Required. Storage account of the Functions host and the deployment package.')
param hostStorageAccountName string

@description('Required. Storage account of the quarantine, the rule store and the state tables.')
param dataStorageAccountName string

@description('Required. Blob containers in the data account that the app reads and writes.')
param blobContainerNames string[]

@description('Optional. Blob containers in the data account where the app also sets blob index tags; they get Storage Blob Data Owner instead of Contributor, because only Owner among the built-in data roles includes the tags permissions.')
param taggedContainerNames string[] = []

@description('Required. Tables in the data account that the app reads and writes.')
param tableNames string[]

@description('Required. Service Bus namespace of the app\'s queues.')
param serviceBusNamespaceName string

@description('Required. Queues the app both sends to and receives from.')
param queueNames string[]

@description('Optional. Also grant Azure Service Bus Data Owner on each queue, for reading its runtime properties (message counts); the role also allows managing the queue.')
param grantQueueOwner bool = false

@description('Required. Key Vault holding the secrets behind Key Vault references.')
param keyVaultName string

@description('Required. Application Insights resource the app sends telemetry to.')
param applicationInsightsName string

// Built-in role definition ids, the same in every Azure cloud.
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  serviceBusDataOwner: '090c5cfd-751d-490a-894a-3ce6f1109419'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

resource hostStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: hostStorageAccountName
}

resource dataStorage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: dataStorageAccountName

  resource blobService 'blobServices' existing = {
    name: 'default'
  }

  resource tableService 'tableServices' existing = {
    name: 'default'
  }
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for containerName in blobContainerNames: {
    parent: dataStorage::blobService
    name: containerName
  }
]

resource taggedContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' existing = [
  for containerName in taggedContainerNames: {
    parent: dataStorage::blobService
    name: containerName
  }
]

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' existing = [
  for tableName in tableNames: {
    parent: dataStorage::tableService
    name: tableName
  }
]

resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' existing = {
  name: serviceBusNamespaceName
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' existing = [
  for queueName in queueNames: {
    parent: namespace
    name: queueName
  }
]

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// The Functions host keeps timer leases and keys in AzureWebJobsStorage and reads the deployment
// package; with an identity-based connection it needs Storage Blob Data Owner on that account.
resource hostBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(hostStorage.id, principalId, roles.storageBlobDataOwner)
  scope: hostStorage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

resource containerContributors 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (containerName, index) in blobContainerNames: {
    name: guid(containers[index].id, principalId, roles.storageBlobDataContributor)
    scope: containers[index]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource taggedContainerOwners 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (containerName, index) in taggedContainerNames: {
    name: guid(taggedContainers[index].id, principalId, roles.storageBlobDataOwner)
    scope: taggedContainers[index]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource tableContributors 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (tableName, index) in tableNames: {
    name: guid(tables[index].id, principalId, roles.storageTableDataContributor)
    scope: tables[index]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource queueSenders 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (queueName, index) in queueNames: {
    name: guid(queues[index].id, principalId, roles.serviceBusDataSender)
    scope: queues[index]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource queueReceivers 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (queueName, index) in queueNames: {
    name: guid(queues[index].id, principalId, roles.serviceBusDataReceiver)
    scope: queues[index]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// Reading a queue's runtime properties (GET /api/status) is a management request, which the
// Sender and Receiver roles do not allow. Data Owner does, and it also allows changing or
// deleting the queue, so it is granted only when the operator opts in.
resource queueOwners 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for (queueName, index) in queueNames: if (grantQueueOwner) {
    name: guid(queues[index].id, principalId, roles.serviceBusDataOwner)
    scope: queues[index]
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataOwner)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, principalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}

// Application Insights accepts telemetry only with Entra authentication (local auth is off).
resource metricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(applicationInsights.id, principalId, roles.monitoringMetricsPublisher)
  scope: applicationInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: principalId
    principalType: 'ServicePrincipal'
  }
}
