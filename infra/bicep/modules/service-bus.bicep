// Service Bus namespace with the queues the app sends to and receives from. Local (SAS key)
// authentication is off, so only Entra identities with a data role reach the queues.

@description('Required. Namespace name: 6-50 letters, digits and hyphens, globally unique.')
@minLength(6)
@maxLength(50)
param name string

@description('Optional. Azure region of the namespace.')
param location string = resourceGroup().location

@description('Required. Queues to create.')
param queueNames string[]

@description('Optional. Deliveries before Service Bus dead-letters a message; must equal MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT.')
@minValue(1)
@maxValue(2000)
param maxDeliveryCount int = 10

@description('Optional. Peek-lock duration as an ISO 8601 duration; 5 minutes is the maximum, and the Functions host renews the lock.')
param lockDuration string = 'PT5M'

@description('Optional. Time a message may wait in a queue before it expires into the dead-letter queue.')
param defaultMessageTimeToLive string = 'P14D'

@description('Optional. Window in which a repeated message id is dropped; scan jobs carry an id derived from mailbox and item.')
param duplicateDetectionWindow string = 'PT10M'

@description('Optional. Tags applied to every resource.')
param tags object = {}

// Standard is the smallest tier with scheduled messages and duplicate detection, which the scan
// queue's delayed retries and id-based deduplication use.
resource namespace 'Microsoft.ServiceBus/namespaces@2024-01-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }
}

resource queues 'Microsoft.ServiceBus/namespaces/queues@2024-01-01' = [
  for queueName in queueNames: {
    parent: namespace
    name: queueName
    properties: {
      lockDuration: lockDuration
      maxDeliveryCount: maxDeliveryCount
      deadLetteringOnMessageExpiration: true
      defaultMessageTimeToLive: defaultMessageTimeToLive
      requiresDuplicateDetection: true
      duplicateDetectionHistoryTimeWindow: duplicateDetectionWindow
    }
  }
]

@description('Name of the namespace.')
output namespaceName string = namespace.name

@description('Host name of the namespace, for MAILSWEEP_SERVICEBUS__fullyQualifiedNamespace.')
// serviceBusEndpoint reads https://<name>.servicebus.windows.net:443/ in the public cloud.
output fullyQualifiedNamespace string = replace(
  replace(namespace.properties.serviceBusEndpoint, 'https://', ''),
  ':443/',
  ''
)
