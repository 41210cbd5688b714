// Key Vault in RBAC mode for the few secrets the app may need (an EWS password, a Graph client
// secret). The template creates no secret: an administrator adds each one, and the app settings
// refer to it with a Key Vault reference, so no secret value is ever an app setting.

@description('Required. Vault name: 3-24 letters, digits and hyphens, globally unique.')
@minLength(3)
@maxLength(24)
param name string

@description('Optional. Azure region of the vault.')
param location string = resourceGroup().location

@description('Optional. Days a deleted secret stays recoverable.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

@description('Optional. Tags applied to every resource.')
param tags object = {}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

@description('Name of the vault.')
output vaultName string = vault.name

@description('URI of the vault, e.g. https://name.vault.azure.net/.')
output vaultUri string = vault.properties.vaultUri
