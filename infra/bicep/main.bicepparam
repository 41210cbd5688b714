// Parameters for `azd up` and `az deployment group create`. azd fills the AZURE_* variables from
// its environment; set the others with `azd env set NAME VALUE` before `azd provision`. Variables
// named like a mailsweep setting (MAILSWEEP_*) carry that setting's value; the DEPLOY_* ones are
// template choices, kept out of the MAILSWEEP_ prefix because the app rejects unknown keys there.
using 'main.bicep'

param environmentName = take(readEnvironmentVariable('AZURE_ENV_NAME', 'dev'), 8)
param location = readEnvironmentVariable('AZURE_LOCATION', 'swedencentral')
param retentionDays = int(readEnvironmentVariable('MAILSWEEP_RETENTION_DAYS', '30'))
param retentionDaysMalware = int(readEnvironmentVariable('MAILSWEEP_RETENTION_DAYS_MALWARE', '30'))
param retentionDaysPhishing = int(readEnvironmentVariable('MAILSWEEP_RETENTION_DAYS_PHISHING', '30'))
param retentionDaysSpam = int(readEnvironmentVariable('MAILSWEEP_RETENTION_DAYS_SPAM', '15'))
// The mailboxes' tenant, when it is not the tenant of the subscription; a fixed value such as
// param graphTenantId = '<tenant-id>' works as well.
param graphTenantId = readEnvironmentVariable('MAILSWEEP_GRAPH_TENANT_ID', '')
param graphClientId = readEnvironmentVariable('MAILSWEEP_GRAPH_CLIENT_ID', '')
// Until DEPLOY_API_CLIENT_ID names the API's app registration, no token matches the all-zero
// audience, so every route that needs a signed-in caller answers 401.
param apiClientId = readEnvironmentVariable('DEPLOY_API_CLIENT_ID', '00000000-0000-0000-0000-000000000000')
param graphCredential = readEnvironmentVariable('DEPLOY_GRAPH_CREDENTIAL', 'federated')
param organizationDomains = readEnvironmentVariable('MAILSWEEP_ORG_DOMAINS', '')
param scheduledScanCron = readEnvironmentVariable('MAILSWEEP_SCHEDULED_SCAN_CRON', '0 0 2 * * *')
param scheduledScan = readEnvironmentVariable('MAILSWEEP_SCHEDULED_SCAN', '')
param digestCron = readEnvironmentVariable('MAILSWEEP_DIGEST_CRON', '0 */15 * * * *')
param digestSender = readEnvironmentVariable('MAILSWEEP_DIGEST_SENDER', '')
param digestAdmins = readEnvironmentVariable('MAILSWEEP_DIGEST_ADMINS', '')
param notifySender = readEnvironmentVariable('MAILSWEEP_NOTIFY_SENDER', '')
param notifyAdmins = readEnvironmentVariable('MAILSWEEP_NOTIFY_ADMINS', '')
param ewsUrl = readEnvironmentVariable('MAILSWEEP_EWS_URL', '')
param ewsAuth = readEnvironmentVariable('MAILSWEEP_EWS_AUTH', 'ntlm')
param ewsUsername = readEnvironmentVariable('MAILSWEEP_EWS_USERNAME', '')
param ewsDomain = readEnvironmentVariable('MAILSWEEP_EWS_DOMAIN', '')
param onPremMailboxes = readEnvironmentVariable('MAILSWEEP_ONPREM_MAILBOXES', '')
param onPremDomains = readEnvironmentVariable('MAILSWEEP_ONPREM_DOMAINS', '')
param ewsCaCertificatesFromVault = bool(readEnvironmentVariable('DEPLOY_EWS_CA_FROM_VAULT', 'false'))
param ewsPushStatusFrequencyMinutes = int(readEnvironmentVariable('MAILSWEEP_EWS_PUSH_STATUS_FREQUENCY_MINUTES', '5'))
param grantQueueStatusRole = bool(readEnvironmentVariable('DEPLOY_QUEUE_STATUS_ROLE', 'false'))
param deployNetwork = bool(readEnvironmentVariable('DEPLOY_NETWORK', 'false'))
param deployScanEngines = bool(readEnvironmentVariable('DEPLOY_SCAN_ENGINES', 'false'))
