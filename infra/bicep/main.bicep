// Entry point of the mailsweep deployment. It wires modules and holds no resource logic.
targetScope = 'resourceGroup'

@description('Optional. Azure region for every resource; it must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@description('Optional. Short environment name, part of the naming token (dev, test, prod).')
@maxLength(8)
param environmentName string = 'dev'

@description('Optional. Days a quarantined item is kept (MAILSWEEP_RETENTION_DAYS); the lifecycle rule deletes it after that.')
@minValue(1)
param retentionDays int = 30

@description('Optional. Days a quarantined malware item is kept (MAILSWEEP_RETENTION_DAYS_MALWARE).')
@minValue(1)
param retentionDaysMalware int = 30

@description('Optional. Days a quarantined phishing item is kept (MAILSWEEP_RETENTION_DAYS_PHISHING).')
@minValue(1)
param retentionDaysPhishing int = 30

@description('Optional. Days a quarantined spam item is kept (MAILSWEEP_RETENTION_DAYS_SPAM).')
@minValue(1)
param retentionDaysSpam int = 15

@description('Optional. Days each audit blob stays immutable.')
@minValue(1)
param auditImmutabilityDays int = 365

@description('Optional. Deliveries of a scan job before it is dead-lettered, on the queue and in the app alike.')
@minValue(2)
@maxValue(100)
param queueMaxDeliveryCount int = 10

@description('Optional. Directory (tenant) id of the Entra app registration for Graph; empty means the tenant of the subscription deployed into.')
param graphTenantId string = ''

@description('Optional. Application (client) id of the Entra app registration for Graph; empty until it exists, and then Graph stays off.')
param graphClientId string = ''

@description('Optional. How the app signs in to Graph: federated (the managed identity is a federated credential of the app registration, no secret) or clientSecret (a Key Vault secret).')
@allowed([
  'federated'
  'clientSecret'
])
param graphCredential string = 'federated'

// Required, because without App Service authentication anyone could send a forged
// x-ms-client-principal header, which only the platform may set.
@description('Required. Application (client) id of the Entra app registration for the API, with the app roles Mailsweep.Admin and Mailsweep.Reader.')
@minLength(36)
@maxLength(36)
param apiClientId string

@description('Optional. Organization domains, comma-separated, for the look-alike domain check.')
param organizationDomains string = ''

@description('Optional. NCRONTAB schedule (UTC) of the scheduled mailbox scan (MAILSWEEP_SCHEDULED_SCAN_CRON).')
param scheduledScanCron string = '0 0 2 * * *'

@description('Optional. The scheduled scan as a POST /api/scans body in JSON (MAILSWEEP_SCHEDULED_SCAN); empty means no scheduled scan.')
param scheduledScan string = ''

@description('Optional. NCRONTAB schedule (UTC) of the quarantine digest timer (MAILSWEEP_DIGEST_CRON).')
param digestCron string = '0 */15 * * * *'

@description('Optional. Mailbox that sends quarantine digests through Graph (MAILSWEEP_DIGEST_SENDER); needs Mail.Send. Empty means no digests are mailed.')
param digestSender string = ''

@description('Optional. Comma-separated addresses that get the digest summary across mailboxes (MAILSWEEP_DIGEST_ADMINS).')
param digestAdmins string = ''

@description('Optional. Mailbox that sends the notify action of rules through Graph (MAILSWEEP_NOTIFY_SENDER); needs Mail.Send.')
param notifySender string = ''

@description('Optional. Comma-separated administrator addresses for the notify action of rules (MAILSWEEP_NOTIFY_ADMINS).')
param notifyAdmins string = ''

@description('Optional. EWS endpoint of the on-premises Exchange server; empty when every mailbox is in Exchange Online.')
param ewsUrl string = ''

@description('Optional. EWS sign-in: ntlm, basic, or oauth with the Graph app\'s credential.')
@allowed([
  'ntlm'
  'basic'
  'oauth'
])
param ewsAuth string = 'ntlm'

@description('Optional. EWS service account with the ApplicationImpersonation role; its password is the Key Vault secret ews-password.')
param ewsUsername string = ''

@description('Optional. NTLM domain of the EWS service account.')
param ewsDomain string = ''

@description('Optional. Take MAILSWEEP_EWS_CA_CERTIFICATES from the Key Vault secret ews-ca-certificates, for an EWS server whose certificate comes from an internal PKI.')
param ewsCaCertificatesFromVault bool = false

@description('Optional. Minutes between the keep-alives Exchange sends on an EWS push subscription (MAILSWEEP_EWS_PUSH_STATUS_FREQUENCY_MINUTES).')
@minValue(1)
@maxValue(1440)
param ewsPushStatusFrequencyMinutes int = 5

@description('Optional. Addresses of on-premises mailboxes, comma-separated.')
param onPremMailboxes string = ''

@description('Optional. Domains whose mailboxes are all on premises, comma-separated.')
param onPremDomains string = ''

@description('Optional. Grant Azure Service Bus Data Owner on the scan queue, so that GET /api/status can read the queue\'s message counts; the role also allows managing the queue.')
param grantQueueStatusRole bool = false

@description('Optional. Create a virtual network and integrate the function app with it, for the scan engines or a route to on-premises Exchange.')
param deployNetwork bool = false

@description('Optional. Deploy clamd and rspamd as Container Apps in the virtual network and use them as engines; needs deployNetwork.')
param deployScanEngines bool = false

@description('Optional. Instance memory of the function app in MB.')
@allowed([
  2048
  4096
])
param instanceMemoryMB int = 2048

// One token makes every name unique per subscription, environment and region.
var token = toLower(uniqueString(subscription().id, environmentName, location))
var abbreviations = {
  dataStorage: 'stms'
  hostStorage: 'stfn'
  functionApp: 'func-ms-'
  plan: 'plan-ms-'
  serviceBus: 'sb-ms-'
  keyVault: 'kv-ms-'
  graphIdentity: 'id-ms-graph-'
  workspace: 'log-ms-'
  applicationInsights: 'appi-ms-'
  network: 'vnet-ms-'
  scanEngines: 'ms'
}
var tags = {
  application: 'mailsweep'
  environment: environmentName
}

// The names the code uses: SCAN_QUEUE_NAME, STATE_TABLES and the container defaults of
// MAILSWEEP_QUARANTINE_CONTAINER and MAILSWEEP_RULES_CONTAINER. test/infra checks them.
var queueNames = [
  'mailsweep-scan'
]
var tableNames = [
  'mailboxes'
  'subscriptions'
  'syncstates'
  'verdicts'
  'messagelocks'
  'leases'
  'quarantineindex'
  'quarantineaudit'
  'ewssubscriptions'
  'scans'
  'digeststate'
  'quarantinereleases'
  'quarantinerequests'
]
var quarantineContainerName = 'quarantine'
var rulesContainerName = 'rules'

var keyVaultName = take('${abbreviations.keyVault}${token}', 24)
var ewsPasswordNeeded = !empty(ewsUrl) && ewsAuth != 'oauth'

// A Key Vault reference resolves with the app's identity when the app starts; the secret itself
// is added by the administrator (docs/deploy.md).
var ewsPasswordReference = '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=ews-password)'
var ewsCaReference = '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=ews-ca-certificates)'
var graphSecretReference = '@Microsoft.KeyVault(VaultName=${keyVaultName};SecretName=graph-client-secret)'

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    workspaceName: '${abbreviations.workspace}${token}'
    applicationInsightsName: '${abbreviations.applicationInsights}${token}'
    location: location
    tags: tags
  }
}

module hostStorage 'modules/host-storage.bicep' = {
  name: 'host-storage'
  params: {
    name: take('${abbreviations.hostStorage}${token}', 24)
    location: location
    tags: tags
  }
}

module quarantineStorage 'modules/quarantine-storage.bicep' = {
  name: 'quarantine-storage'
  params: {
    name: take('${abbreviations.dataStorage}${token}', 24)
    location: location
    containerName: quarantineContainerName
    blobContainerNames: [
      rulesContainerName
    ]
    tableNames: tableNames
    retentionDays: retentionDays
    retentionDaysByCategory: {
      malware: retentionDaysMalware
      phishing: retentionDaysPhishing
      spam: retentionDaysSpam
    }
    auditImmutabilityDays: auditImmutabilityDays
    tags: tags
  }
}

module serviceBus 'modules/service-bus.bicep' = {
  name: 'service-bus'
  params: {
    name: '${abbreviations.serviceBus}${token}'
    location: location
    queueNames: queueNames
    maxDeliveryCount: queueMaxDeliveryCount
    tags: tags
  }
}

module graphIdentity 'modules/graph-identity.bicep' = {
  name: 'graph-identity'
  params: {
    name: '${abbreviations.graphIdentity}${token}'
    location: location
    tags: tags
  }
}

module keyVault 'modules/key-vault.bicep' = {
  name: 'key-vault'
  params: {
    name: keyVaultName
    location: location
    tags: tags
  }
}

module network 'modules/network.bicep' = if (deployNetwork) {
  name: 'network'
  params: {
    name: '${abbreviations.network}${token}'
    location: location
    tags: tags
  }
}

module scanEngines 'modules/scan-engines.bicep' = if (deployNetwork && deployScanEngines) {
  name: 'scan-engines'
  params: {
    namePrefix: '${abbreviations.scanEngines}-${take(token, 8)}'
    location: location
    infrastructureSubnetId: network!.outputs.scanEngineSubnetId
    virtualNetworkId: network!.outputs.virtualNetworkId
    tags: tags
  }
}

var useScanEngines = deployNetwork && deployScanEngines

module functionApp 'modules/function-app.bicep' = {
  name: 'function-app'
  params: {
    name: '${abbreviations.functionApp}${token}'
    planName: '${abbreviations.plan}${token}'
    location: location
    deploymentContainerUrl: hostStorage.outputs.deploymentContainerUrl
    instanceMemoryMB: instanceMemoryMB
    apiClientId: apiClientId
    graphIdentityId: graphIdentity.outputs.id
    virtualNetworkSubnetId: deployNetwork ? network!.outputs.functionAppSubnetId : ''
    tags: tags
    appTags: {
      'azd-service-name': 'api'
    }
    // Every key is listed; an empty value counts as unset in mailsweep's settings.
    appSettings: {
      AzureWebJobsStorage__accountName: hostStorage.outputs.accountName
      AzureWebJobsStorage__credential: 'managedidentity'
      APPLICATIONINSIGHTS_CONNECTION_STRING: monitoring.outputs.connectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'

      MAILSWEEP_AUTH_MODE: 'app-service'

      MAILSWEEP_QUARANTINE_BLOB_URI: quarantineStorage.outputs.blobServiceUri
      MAILSWEEP_QUARANTINE_CONTAINER: quarantineContainerName
      MAILSWEEP_RULES_CONTAINER: rulesContainerName
      MAILSWEEP_RETENTION_DAYS: string(retentionDays)
      MAILSWEEP_RETENTION_DAYS_MALWARE: string(retentionDaysMalware)
      MAILSWEEP_RETENTION_DAYS_PHISHING: string(retentionDaysPhishing)
      MAILSWEEP_RETENTION_DAYS_SPAM: string(retentionDaysSpam)
      MAILSWEEP_STATE_TABLE_URI: quarantineStorage.outputs.tableServiceUri

      MAILSWEEP_SERVICEBUS__fullyQualifiedNamespace: serviceBus.outputs.fullyQualifiedNamespace
      MAILSWEEP_SERVICEBUS__credential: 'managedidentity'
      MAILSWEEP_QUEUE_MAX_DELIVERY_COUNT: string(queueMaxDeliveryCount)

      MAILSWEEP_GRAPH_TENANT_ID: empty(graphTenantId) ? tenant().tenantId : graphTenantId
      MAILSWEEP_GRAPH_CLIENT_ID: graphClientId
      MAILSWEEP_GRAPH_CLIENT_SECRET: graphCredential == 'clientSecret' ? graphSecretReference : ''
      MAILSWEEP_GRAPH_MANAGED_IDENTITY_CLIENT_ID: graphCredential == 'federated' ? graphIdentity.outputs.clientId : ''

      MAILSWEEP_EWS_URL: ewsUrl
      MAILSWEEP_EWS_AUTH: ewsAuth
      MAILSWEEP_EWS_USERNAME: ewsUsername
      MAILSWEEP_EWS_DOMAIN: ewsDomain
      MAILSWEEP_EWS_PASSWORD: ewsPasswordNeeded ? ewsPasswordReference : ''
      MAILSWEEP_EWS_CA_CERTIFICATES: ewsCaCertificatesFromVault ? ewsCaReference : ''
      MAILSWEEP_EWS_PUSH_STATUS_FREQUENCY_MINUTES: string(ewsPushStatusFrequencyMinutes)
      MAILSWEEP_ONPREM_MAILBOXES: onPremMailboxes
      MAILSWEEP_ONPREM_DOMAINS: onPremDomains

      MAILSWEEP_ORG_DOMAINS: organizationDomains
      // A 2048 MB Flex Consumption instance has one vCPU, a 4096 MB instance two.
      MAILSWEEP_SCAN_WORKERS: instanceMemoryMB == 4096 ? '2' : '1'
      MAILSWEEP_ENGINES_ANTIVIRUS: useScanEngines ? 'embedded,clamd' : 'embedded'
      MAILSWEEP_ENGINES_ANTISPAM: useScanEngines ? 'embedded,rspamd' : 'embedded'
      MAILSWEEP_CLAMD_HOST: useScanEngines ? scanEngines!.outputs.clamdHost : ''
      MAILSWEEP_RSPAMD_URL: useScanEngines ? scanEngines!.outputs.rspamdUrl : ''

      // The timers read their schedules from these settings, so they are always set.
      MAILSWEEP_SCHEDULED_SCAN_CRON: scheduledScanCron
      MAILSWEEP_SCHEDULED_SCAN: scheduledScan
      MAILSWEEP_DIGEST_CRON: digestCron
      MAILSWEEP_DIGEST_SENDER: digestSender
      MAILSWEEP_DIGEST_ADMINS: digestAdmins
      MAILSWEEP_NOTIFY_SENDER: notifySender
      MAILSWEEP_NOTIFY_ADMINS: notifyAdmins
    }
  }
}

module roleAssignments 'modules/role-assignments.bicep' = {
  name: 'role-assignments'
  params: {
    principalId: functionApp.outputs.principalId
    hostStorageAccountName: hostStorage.outputs.accountName
    dataStorageAccountName: quarantineStorage.outputs.accountName
    blobContainerNames: [
      rulesContainerName
    ]
    // The quarantine tags each item with its retention class, for the lifecycle rules.
    taggedContainerNames: [
      quarantineContainerName
    ]
    tableNames: tableNames
    serviceBusNamespaceName: serviceBus.outputs.namespaceName
    queueNames: queueNames
    grantQueueOwner: grantQueueStatusRole
    keyVaultName: keyVault.outputs.vaultName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

@description('Name of the function app, for azd deploy and the Entra setup.')
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name

@description('Webhook base URL of the function app; Graph posts to /api/graph/notifications below it.')
output SERVICE_API_URI string = 'https://${functionApp.outputs.defaultHostName}'

@description('Object id of the function app\'s system-assigned managed identity, which holds the Azure roles.')
output FUNCTION_APP_PRINCIPAL_ID string = functionApp.outputs.principalId

@description('Name of the user-assigned managed identity to select in the Graph app registration\'s federated credential.')
output GRAPH_IDENTITY_NAME string = graphIdentity.outputs.name

@description('Object (principal) id of the user-assigned managed identity for the Graph federated credential.')
output GRAPH_IDENTITY_PRINCIPAL_ID string = graphIdentity.outputs.principalId

@description('Name of the Key Vault that holds the secrets behind Key Vault references.')
output KEY_VAULT_NAME string = keyVault.outputs.vaultName

@description('Name of the storage account of the quarantine and the state tables.')
output DATA_STORAGE_ACCOUNT_NAME string = quarantineStorage.outputs.accountName

@description('clamd host inside the virtual network, empty when the scan engines are not deployed.')
output CLAMD_HOST string = useScanEngines ? scanEngines!.outputs.clamdHost : ''
