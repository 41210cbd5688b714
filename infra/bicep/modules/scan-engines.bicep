// clamd (with freshclam) and rspamd as Azure Container Apps in an environment inside the function
// app's virtual network. The environment is internal, so its apps have no public endpoint; a
// private DNS zone for the environment's domain lets the function app resolve them.

@description('Required. Name prefix of the environment and apps: lower-case letters, digits and hyphens.')
@maxLength(20)
param namePrefix string

@description('Optional. Azure region of every resource.')
param location string = resourceGroup().location

@description('Required. Resource id of an empty subnet (at least /27, delegated to Microsoft.App/environments) in the function app\'s virtual network.')
param infrastructureSubnetId string

@description('Required. Resource id of the function app\'s virtual network, linked to the private DNS zone.')
param virtualNetworkId string

@description('Optional. clamd image; the official image runs freshclam beside clamd and keeps signatures current.')
param clamdImage string = 'docker.io/clamav/clamav:stable'

@description('Optional. rspamd image whose normal worker listens on port 11333 on all interfaces.')
param rspamdImage string = 'docker.io/rspamd/rspamd:latest'

@description('Optional. clamd replicas; each holds the whole signature database in memory.')
@minValue(1)
@maxValue(10)
param clamdReplicas int = 1

@description('Optional. Tags applied to every resource.')
param tags object = {}

resource environment 'Microsoft.App/managedEnvironments@2024-03-01' = {
  name: '${namePrefix}-cae'
  location: location
  tags: tags
  properties: {
    vnetConfiguration: {
      infrastructureSubnetId: infrastructureSubnetId
      internal: true
    }
    workloadProfiles: [
      {
        name: 'Consumption'
        workloadProfileType: 'Consumption'
      }
    ]
  }
}

// ClamAV 1.x needs about 2 GB for the official databases and twice that while it reloads them
// after an update, so clamd gets 4 GiB.
resource clamd 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${namePrefix}-clamd'
  location: location
  tags: tags
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      ingress: {
        // Inside an internal environment, external means reachable from the virtual network only.
        external: true
        transport: 'tcp'
        targetPort: 3310
        exposedPort: 3310
      }
    }
    template: {
      containers: [
        {
          name: 'clamd'
          image: clamdImage
          resources: {
            cpu: json('2.0')
            memory: '4Gi'
          }
        }
      ]
      scale: {
        minReplicas: clamdReplicas
        maxReplicas: clamdReplicas
      }
    }
  }
}

resource rspamd 'Microsoft.App/containerApps@2024-03-01' = {
  name: '${namePrefix}-rspamd'
  location: location
  tags: tags
  properties: {
    environmentId: environment.id
    workloadProfileName: 'Consumption'
    configuration: {
      ingress: {
        external: true
        transport: 'tcp'
        targetPort: 11333
        exposedPort: 11333
      }
    }
    template: {
      containers: [
        {
          name: 'rspamd'
          image: rspamdImage
          resources: {
            cpu: json('0.5')
            memory: '1Gi'
          }
        }
      ]
      // TCP ingress gets no HTTP scale rule, so without this rule the app would stay at one
      // replica. The threshold is a starting value, not a measured one.
      scale: {
        minReplicas: 1
        maxReplicas: 3
        rules: [
          {
            name: 'tcp-connections'
            tcp: {
              metadata: {
                concurrentConnections: '10'
              }
            }
          }
        ]
      }
    }
  }
}

// The zone's name is the environment's domain, known only once the environment exists, so the
// zone lives in a module that receives it as a parameter.
module dns 'environment-dns.bicep' = {
  name: '${namePrefix}-dns'
  params: {
    zoneName: environment.properties.defaultDomain
    staticIp: environment.properties.staticIp
    virtualNetworkId: virtualNetworkId
    linkName: '${namePrefix}-link'
    tags: tags
  }
}

@description('Host name of clamd inside the virtual network, for MAILSWEEP_CLAMD_HOST (port 3310).')
output clamdHost string = clamd.properties.configuration.ingress.fqdn

@description('URL of rspamd\'s normal worker inside the virtual network, for MAILSWEEP_RSPAMD_URL.')
output rspamdUrl string = 'http://${rspamd.properties.configuration.ingress.fqdn}:11333'
