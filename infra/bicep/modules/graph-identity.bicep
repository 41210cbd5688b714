// A user-assigned managed identity that signs the function app in to Microsoft Graph as the
// federated credential of the Graph app registration. The portal's Managed identity scenario for
// a federated credential offers user-assigned identities only. This identity has no Azure role:
// it only proves the app's identity to the app registration.

@description('Required. Name of the identity.')
param name string

@description('Optional. Azure region of the identity.')
param location string = resourceGroup().location

@description('Optional. Tags applied to every resource.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

@description('Resource id of the identity, to attach it to the function app.')
output id string = identity.id

@description('Name of the identity.')
output name string = identity.name

@description('Client id of the identity, for MAILSWEEP_GRAPH_MANAGED_IDENTITY_CLIENT_ID.')
output clientId string = identity.properties.clientId

@description('Object (principal) id of the identity, shown when the federated credential is added.')
output principalId string = identity.properties.principalId
