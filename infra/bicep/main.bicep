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

@description('Optional. Deploy clamd and rspamd as Container Apps inside the virtual network.')
param deployScanEngines bool = false

@description('Optional. Subnet for the scan engines\' Container Apps environment; required when deployScanEngines is true.')
param scanEngineSubnetId string = ''

@description('Optional. The function app\'s virtual network; required when deployScanEngines is true.')
param virtualNetworkId string = ''

// One token makes every name unique per subscription, environment and region.
var token = toLower(uniqueString(subscription().id, environmentName, location))
var abbreviations = {
  storageAccount: 'stms'
  scanEngines: 'ms'
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

module scanEngines 'modules/scan-engines.bicep' = if (deployScanEngines) {
  name: 'scan-engines'
  params: {
    namePrefix: '${abbreviations.scanEngines}-${take(token, 8)}'
    location: location
    infrastructureSubnetId: scanEngineSubnetId
    virtualNetworkId: virtualNetworkId
    tags: tags
  }
}

@description('Blob service endpoint of the quarantine, for MAILSWEEP_QUARANTINE_BLOB_URI.')
output quarantineBlobServiceUri string = quarantineStorage.outputs.blobServiceUri

@description('Name of the quarantine storage account.')
output quarantineStorageAccountName string = quarantineStorage.outputs.accountName

@description('clamd host for MAILSWEEP_CLAMD_HOST, empty when the scan engines are not deployed.')
output clamdHost string = deployScanEngines ? scanEngines!.outputs.clamdHost : ''

@description('rspamd URL for MAILSWEEP_RSPAMD_URL, empty when the scan engines are not deployed.')
output rspamdUrl string = deployScanEngines ? scanEngines!.outputs.rspamdUrl : ''
