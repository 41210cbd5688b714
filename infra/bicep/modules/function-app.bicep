// The function app on a Flex Consumption plan: Node.js 20, a system-assigned managed identity for
// every Azure connection, a user-assigned one for the Graph federated credential, the deployment
// package in a blob container reached with the system-assigned identity, and optional virtual
// network integration for outbound traffic.

@description('Required. Name of the function app; also the first label of its host name.')
param name string

@description('Required. Name of the Flex Consumption plan.')
param planName string

@description('Optional. Azure region of the plan and the app.')
param location string = resourceGroup().location

@description('Required. URL of the blob container that receives the deployment package.')
param deploymentContainerUrl string

@description('Required. App settings; MAILSWEEP_PUBLIC_BASE_URL and MAILSWEEP_UI_BASE_URL are added from the app\'s host name.')
param appSettings object

@description('Optional. Instance memory in MB: 512, 2048 or 4096. Scanning runs worker processes with their own heaps.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Optional. Most instances the plan scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Optional. Subnet for virtual network integration, delegated to Microsoft.App/environments; empty for none.')
param virtualNetworkSubnetId string = ''

@description('Required. Application (client) id of the Entra app registration that defines the API\'s app roles.')
param apiClientId string

@description('Required. Resource id of the user-assigned managed identity that signs in to Graph; the system-assigned identity stays the one for every Azure connection.')
param graphIdentityId string

@description('Optional. Tags applied to every resource.')
param tags object = {}

@description('Optional. Tags of the app itself; azd finds the app to deploy by its azd-service-name tag.')
param appTags object = {}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, appTags)
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned, UserAssigned'
    userAssignedIdentities: {
      '${graphIdentityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '20'
      }
    }
  }
}

// Graph posts change notifications to this base URL, so it comes from the app's own host name.
resource settings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'appsettings'
  properties: union(appSettings, {
    MAILSWEEP_PUBLIC_BASE_URL: 'https://${site.properties.defaultHostName}'
    MAILSWEEP_UI_BASE_URL: 'https://${site.properties.defaultHostName}'
  })
}

// App Service authentication validates Entra tokens for the API app registration and passes the
// caller to the code in x-ms-client-principal, a header it strips from incoming requests. Callers
// without a token still reach the functions, because Graph's webhooks carry none; mailsweep's
// code answers 401 on every route that needs a caller.
resource authentication 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
          clientId: apiClientId
        }
        validation: {
          allowedAudiences: [
            'api://${apiClientId}'
            apiClientId
          ]
        }
      }
    }
    login: {
      tokenStore: {
        enabled: false
      }
    }
  }
}

@description('Name of the function app.')
output name string = site.name

@description('Default host name of the function app.')
output defaultHostName string = site.properties.defaultHostName

@description('Object id of the app\'s system-assigned managed identity.')
output principalId string = site.identity.principalId
