// A user-assigned managed identity that signs the function app in to Microsoft Graph. Entra ID
// accepts a managed identity as a federated credential of an app registration only when it is
// user-assigned, so the system-assigned identity cannot take this part. This identity holds no
// Azure role: it only proves the app's identity to the Graph app registration.

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
