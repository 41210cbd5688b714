// Entry point of the mailsweep deployment. It wires modules and holds no resource logic.
targetScope = 'resourceGroup'

@description('Optional. Azure region for every resource.')
param location string = resourceGroup().location

@description('Optional. Short environment name, part of the naming token (dev, test, prod).')
@maxLength(8)
param environmentName string = 'dev'

@description('Optional. Days a quarantined item is kept before the storage lifecycle rule deletes it.')
@minValue(1)
param retentionDays int = 30

// One token makes every name unique per subscription, environment and region.
var token = toLower(uniqueString(subscription().id, environmentName, location))
var abbreviations = {
  storageAccount: 'stms'
}
var tags = {
  application: 'mailsweep'
  environment: environmentName
}

module quarantineStorage 'modules/quarantine-storage.bicep' = {
  name: 'quarantine-storage'
  params: {
    name: take('${abbreviations.storageAccount}${token}', 24)
    location: location
    retentionDays: retentionDays
    tags: tags
  }
}

@description('Blob service endpoint of the quarantine, for MAILSWEEP_QUARANTINE_BLOB_URI.')
output quarantineBlobServiceUri string = quarantineStorage.outputs.blobServiceUri

@description('Name of the quarantine storage account.')
output quarantineStorageAccountName string = quarantineStorage.outputs.accountName
