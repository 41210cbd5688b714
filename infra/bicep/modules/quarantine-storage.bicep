// Storage account for mailsweep's data: the private quarantine container, the other blob
// containers the app uses (the rule store), the state tables, and an audit container under a
// time-based immutability policy. No shared keys, TLS 1.2, blob versioning and soft delete, and a
// lifecycle rule that deletes quarantined items after the retention period.

@description('Required. Storage account name: 3-24 lower-case letters and digits, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Optional. Azure region of the account.')
param location string = resourceGroup().location

@description('Optional. Blob container that holds quarantined items (MAILSWEEP_QUARANTINE_CONTAINER).')
param containerName string = 'quarantine'

@description('Optional. Further private blob containers the app reads and writes, such as the rule store.')
param blobContainerNames string[] = []

@description('Optional. State tables the app reads and writes.')
param tableNames string[] = []

@description('Optional. Days after which the lifecycle rule deletes quarantined blobs; the app purges expired items before this.')
@minValue(1)
param retentionDays int = 30

@description('Optional. Days kept per category (malware, phishing, spam); categories not named use retentionDays.')
param retentionDaysByCategory object = {}

@description('Optional. Days deleted blobs and containers stay recoverable.')
@minValue(1)
@maxValue(365)
param softDeleteDays int = 7

@description('Optional. Blob container for audit records, under a time-based immutability policy.')
param auditContainerName string = 'audit'

@description('Optional. Days each audit blob stays immutable after it is written.')
@minValue(1)
@maxValue(146000)
param auditImmutabilityDays int = 365

@description('Optional. Tags applied to every resource.')
param tags object = {}

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_ZRS'
  }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: softDeleteDays
    }
  }
}

resource container 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: containerName
  properties: {
    publicAccess: 'None'
  }
}

resource blobContainers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for blobContainerName in blobContainerNames: {
    parent: blobService
    name: blobContainerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource auditContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: auditContainerName
  properties: {
    publicAccess: 'None'
  }
}

// The policy is deployed unlocked, so that a wrong period can still be corrected. Locking it
// (docs/deploy.md) cannot be undone and is left to the administrator.
resource auditImmutability 'Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies@2023-05-01' = {
  parent: auditContainer
  name: 'default'
  properties: {
    immutabilityPeriodSinceCreationInDays: auditImmutabilityDays
    allowProtectedAppendWrites: true
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

// Versioning keeps a previous version of every deleted or overwritten blob, so the rule deletes
// old versions of quarantined items too; otherwise a purged item would stay as a version.
// The app tags both blobs of an item with `retention=<category>`, or `retention=hold` while the
// item is on legal hold (src/quarantine/blob-quarantine-store.ts). Lifecycle filters match tags by
// equality only, so each category has its own rule and no rule matches `hold`. The rules run two
// days after the retention period, so that the app's purge timer, which also removes the index
// rows and writes the audit entry, normally deletes an item first.
var lifecycleGraceDays = 2
var categoryRetention = [
  { category: 'malware', days: retentionDaysByCategory.?malware ?? retentionDays }
  { category: 'phishing', days: retentionDaysByCategory.?phishing ?? retentionDays }
  { category: 'spam', days: retentionDaysByCategory.?spam ?? retentionDays }
  { category: 'policy', days: retentionDays }
  { category: 'unscannable', days: retentionDays }
  { category: 'clean', days: retentionDays }
]

resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    policy: {
      rules: concat(
        map(categoryRetention, entry => {
          name: 'expire-${entry.category}'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: [
                'blockBlob'
              ]
              prefixMatch: [
                '${containerName}/items/'
              ]
              blobIndexMatch: [
                {
                  name: 'retention'
                  op: '=='
                  value: entry.category
                }
              ]
            }
            actions: {
              baseBlob: {
                delete: {
                  daysAfterCreationGreaterThan: entry.days + lifecycleGraceDays
                }
              }
            }
          }
        }),
        [
          {
            // Earlier versions of a blob (left by a metadata change or a delete) hold no item
            // that is still listed; the current version of a held item is never a version here.
            name: 'expire-previous-versions'
            enabled: true
            type: 'Lifecycle'
            definition: {
              filters: {
                blobTypes: [
                  'blockBlob'
                ]
                prefixMatch: [
                  '${containerName}/items/'
                ]
              }
              actions: {
                version: {
                  delete: {
                    daysAfterCreationGreaterThan: max(retentionDays, retentionDaysByCategory.?malware ?? retentionDays, retentionDaysByCategory.?phishing ?? retentionDays, retentionDaysByCategory.?spam ?? retentionDays) + lifecycleGraceDays
                  }
                }
              }
            }
          }
        ]
      )
    }
  }
  dependsOn: [
    container
  ]
}

@description('Resource id of the storage account.')
output accountId string = account.id

@description('Name of the storage account.')
output accountName string = account.name

@description('Blob service endpoint, for MAILSWEEP_QUARANTINE_BLOB_URI.')
output blobServiceUri string = account.properties.primaryEndpoints.blob

@description('Table service endpoint, for MAILSWEEP_STATE_TABLE_URI.')
output tableServiceUri string = account.properties.primaryEndpoints.table
