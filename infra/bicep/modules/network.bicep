// Virtual network for the function app's outbound traffic and for the scan engines' Container
// Apps environment. Both subnets are delegated to Microsoft.App/environments: Flex Consumption
// integrates with a subnet under that delegation, and a Container Apps environment with workload
// profiles needs one of its own.

@description('Required. Name of the virtual network.')
param name string

@description('Optional. Azure region of the network.')
param location string = resourceGroup().location

@description('Optional. Address space of the network.')
param addressPrefix string = '10.40.0.0/16'

@description('Optional. Subnet of the function app\'s virtual network integration.')
param functionAppSubnetPrefix string = '10.40.0.0/24'

@description('Optional. Subnet of the scan engines\' Container Apps environment, at least /27.')
param scanEngineSubnetPrefix string = '10.40.2.0/23'

@description('Optional. Tags applied to every resource.')
param tags object = {}

resource network 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    addressSpace: {
      addressPrefixes: [
        addressPrefix
      ]
    }
    subnets: [
      {
        name: 'function-app'
        properties: {
          addressPrefix: functionAppSubnetPrefix
          delegations: [
            {
              name: 'flex-consumption'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
      {
        name: 'scan-engines'
        properties: {
          addressPrefix: scanEngineSubnetPrefix
          delegations: [
            {
              name: 'container-apps'
              properties: {
                serviceName: 'Microsoft.App/environments'
              }
            }
          ]
        }
      }
    ]
  }
}

@description('Resource id of the virtual network.')
output virtualNetworkId string = network.id

@description('Resource id of the function app\'s integration subnet.')
output functionAppSubnetId string = network.properties.subnets[0].id

@description('Resource id of the scan engines\' subnet.')
output scanEngineSubnetId string = network.properties.subnets[1].id
