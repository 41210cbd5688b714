// Private DNS zone for an internal Container Apps environment: every app name under the
// environment's domain resolves to the environment's private IP inside the linked network.

@description('Required. DNS zone name: the environment\'s default domain.')
param zoneName string

@description('Required. Private IP address of the environment.')
param staticIp string

@description('Required. Resource id of the virtual network to link.')
param virtualNetworkId string

@description('Required. Name of the virtual network link.')
param linkName string

@description('Optional. Tags applied to every resource.')
param tags object = {}

resource zone 'Microsoft.Network/privateDnsZones@2020-06-01' = {
  name: zoneName
  location: 'global'
  tags: tags
}

resource wildcard 'Microsoft.Network/privateDnsZones/A@2020-06-01' = {
  parent: zone
  name: '*'
  properties: {
    ttl: 300
    aRecords: [
      {
        ipv4Address: staticIp
      }
    ]
  }
}

resource link 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2020-06-01' = {
  parent: zone
  name: linkName
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: virtualNetworkId
    }
  }
}

@description('Resource id of the DNS zone.')
output zoneId string = zone.id
