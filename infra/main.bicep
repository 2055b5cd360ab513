// SupportAgent on Azure: a Flex Consumption function app (.NET 10 isolated) with identity-based storage,
// Application Insights on a Log Analytics workspace, Key Vault for the Mem0 and model keys, and an optional
// Azure OpenAI account + model deployment used with Microsoft Entra ID (no key).
//
// Deploy with `azd up` (azure.yaml at the repository root, parameters in main.parameters.json), or with
// `az deployment group create --resource-group <rg> --template-file infra/main.bicep --parameters environmentName=<name> ...`.
// docs/deploy.md explains every parameter that matters, the keys and the costs.
//
// The app settings are ONE object (appSettings below) applied by ONE resource (functionAppSettings). Its keys are
// always the same; parameters change only the values (an empty value means "not configured", which the app reads as
// unset). SupportAgent.Functions.Tests/Infra/InfraDriftTests.cs compiles this file and compares those keys with the
// settings the app reads (SettingNames.ReadByService): add or remove a setting in both places.

targetScope = 'resourceGroup'

// ---------------------------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the environment (azd: AZURE_ENV_NAME). Used for tags and the unique suffix of resource names.')
param environmentName string

@minLength(1)
@description('Azure region for all resources (azd: AZURE_LOCATION). It must offer the Flex Consumption plan.')
param location string = resourceGroup().location

@description('Object id of a user or group (azd: AZURE_PRINCIPAL_ID, the signed-in user) allowed to manage Key Vault secrets, so the keys can be set and rotated. Empty: no one is granted.')
param principalId string = ''

@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
@description('Kind of principalId.')
param principalType string = 'User'

// ---------------------------------------------------------------------------------------------------------------
// Function app scale
// ---------------------------------------------------------------------------------------------------------------

@minValue(1)
@maxValue(1000)
@description('Most instances the Flex Consumption app may scale out to.')
param maximumInstanceCount int = 40

@allowed([
  512
  2048
  4096
])
@description('Memory of each Flex Consumption instance, in MB.')
param instanceMemoryMB int = 2048

// ---------------------------------------------------------------------------------------------------------------
// Memory store: built in (this storage account) or Mem0
// ---------------------------------------------------------------------------------------------------------------

@allowed([
  'builtin'
  'mem0-platform'
  'mem0-server'
])
@description('MEMORY_STORE: "builtin" keeps memories in this storage account (table "usermemories", embeddings computed in the app; no external service), "mem0-platform" uses the hosted Mem0 Platform (api.mem0.ai, needs a key), "mem0-server" a self-hosted Mem0 REST server (needs mem0BaseUrl).')
param memoryStore string = 'builtin'

@description('MEM0_BASE_URL: base URL of the Mem0 API. Empty: https://api.mem0.ai (mem0-platform). Required with memoryStore=mem0-server.')
param mem0BaseUrl string = ''

@secure()
@description('Mem0 API key, stored in Key Vault as secret "mem0-api-key". With memoryStore=mem0-platform the app always reads that secret: leave this empty to set the secret yourself (docs/deploy.md). Otherwise it is used only when given.')
param mem0ApiKey string = ''

// ---------------------------------------------------------------------------------------------------------------
// Chat model: an Azure OpenAI deployment made here (Entra ID, no key), or OpenAI / an OpenAI-compatible server
// ---------------------------------------------------------------------------------------------------------------

@description('Create an Azure OpenAI account and model deployment and let the app call it with its managed identity (no key). False: the app calls OpenAI or an OpenAI-compatible server (openAiApiKey, openAiBaseUrl, openAiModel).')
param deployAzureOpenAi bool = false

@description('Region of the Azure OpenAI account (the model must be offered there). Defaults to location.')
param azureOpenAiLocation string = location

@description('Model to deploy on Azure OpenAI.')
param azureOpenAiModelName string = 'gpt-4o-mini'

@description('Version of that model.')
param azureOpenAiModelVersion string = '2024-07-18'

@description('Deployment type (SKU) of the model deployment, such as GlobalStandard or Standard (pay per token).')
param azureOpenAiDeploymentSku string = 'GlobalStandard'

@minValue(1)
@description('Capacity of the model deployment, in thousands of tokens per minute.')
param azureOpenAiCapacity int = 10

@secure()
@description('OpenAI API key (when deployAzureOpenAi is false), stored in Key Vault as secret "openai-api-key". Calling OpenAI itself (openAiBaseUrl empty), the app always reads that secret: leave this empty to set the secret yourself. With an OpenAI-compatible server it is used only when given.')
param openAiApiKey string = ''

@description('OPENAI_BASE_URL: an OpenAI-compatible endpoint such as https://my-server.example.com/v1. Empty: OpenAI itself. Ignored when deployAzureOpenAi is true.')
param openAiBaseUrl string = ''

@description('OPENAI_MODEL: the model to call on OpenAI or the compatible server. Empty: the app default (gpt-4o-mini). Ignored when deployAzureOpenAi is true.')
param openAiModel string = ''

@minValue(1)
@maxValue(600)
@description('OPENAI_TIMEOUT_SECONDS: network timeout of one model call.')
param openAiTimeoutSeconds int = 60

@minValue(1)
@maxValue(600)
@description('MODEL_STREAM_IDLE_SECONDS: a streamed reply that sends nothing for this long is ended with an error event.')
param modelStreamIdleSeconds int = 30

@minValue(0)
@description('MODEL_CONTEXT_TOKENS: the model\'s context window in tokens; 0 takes it from the model name (128000 when unknown).')
param modelContextTokens int = 0

@minValue(500)
@description('PROMPT_TOKEN_BUDGET: the most prompt tokens sent per model call (system prompt, memories, recent turns); older turns are left to memory.')
param promptTokenBudget int = 3000

@minValue(1)
@description('MAX_OUTPUT_TOKENS: the output limit sent with every model call; budget + output must fit the window.')
param maxOutputTokens int = 1024

// ---------------------------------------------------------------------------------------------------------------
// Memory and chat behaviour
// ---------------------------------------------------------------------------------------------------------------

@minLength(3)
@maxLength(54)
@description('MEMORY_QUEUE_NAME: the storage queue of memory writes. The queue trigger binds %MEMORY_QUEUE_NAME%; "<name>-poison" and the "<name>-payloads" blob container go with it.')
param memoryQueueName string = 'memory-writes'

@minValue(1)
@maxValue(100)
@description('MEMORY_SEARCH_TOP_K: how many memories the chat path recalls.')
param memorySearchTopK int = 5

@minValue(10)
@maxValue(60000)
@description('MEMORY_SEARCH_TIMEOUT_MS: how long the chat path waits for Mem0 search before answering without memories.')
param memorySearchTimeoutMs int = 1000

@description('SUPPORT_INSTRUCTIONS: the system prompt. Empty: the app default.')
param supportInstructions string = ''

@minValue(0)
@maxValue(100000)
@description('USER_REQUESTS_PER_MINUTE: chat requests one user may make per UTC minute, counted across all instances in the storage account (0 = no limit).')
param userRequestsPerMinute int = 20

@minValue(0)
@description('USER_TOKENS_PER_DAY: model tokens (input + output, as the model reports them) one user may spend per UTC day (0 = no quota).')
param userTokensPerDay int = 0

// ---------------------------------------------------------------------------------------------------------------
// Telemetry (docs/telemetry.md): always to the Application Insights made here; optionally to an OTLP collector too
// ---------------------------------------------------------------------------------------------------------------

@description('OTEL_EXPORTER_OTLP_ENDPOINT: an OpenTelemetry collector to send traces, metrics and logs to as well, such as https://otel.example.com:4318. Empty: Application Insights only.')
param otlpEndpoint string = ''

@description('OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: also record prompts, memories and replies on the model call\'s span. They are personal data: leave false unless you must debug a conversation and your telemetry store is cleared for it.')
param captureMessageContent bool = false

@allowed([
  'http/protobuf'
  'grpc'
])
@description('OTEL_EXPORTER_OTLP_PROTOCOL: how otlpEndpoint is spoken to (4318 is usual for http/protobuf, 4317 for grpc).')
param otlpProtocol string = 'http/protobuf'

// ---------------------------------------------------------------------------------------------------------------
// HTTP front: CORS and App Service Authentication (Easy Auth)
// ---------------------------------------------------------------------------------------------------------------

@description('Browser origins allowed to call the API (CORS), such as ["https://support.example.com"]. Empty: no browser origin. Never use "*" with a function key in a page.')
param corsAllowedOrigins array = []

@description('Allow browsers to send credentials (cookies) cross-origin (CORS Access-Control-Allow-Credentials). Only for a frontend on another origin that signs in with App Service Authentication cookies; bearer tokens (authMode=jwt) need no credentials. Requires explicit corsAllowedOrigins.')
param corsSupportCredentials bool = false

@allowed([
  'none'
  'appservice'
  'jwt'
])
@description('AUTH_MODE: who the signed-in user of /api/me/... is. "none": no sign-in (the /api/me routes answer 401). "appservice": the user App Service Authentication (Easy Auth, configured below) or a linked Static Web App forwards. "jwt": bearer tokens from authJwtAuthority, validated by the app. docs/auth.md explains which to choose.')
param authMode string = 'none'

@description('AUTH_JWT_AUTHORITY (authMode=jwt): the OpenID Connect issuer whose tokens sign users in. Empty: this tenant\'s Microsoft Entra ID (<login endpoint>/<tenant id>/v2.0).')
param authJwtAuthority string = ''

@description('AUTH_JWT_AUDIENCE (authMode=jwt): the audience tokens must be issued for, comma-separated if several. Empty: api://<easyAuthClientId> when that is given (the app refuses to start without an audience).')
param authJwtAudience string = ''

@description('Turn on App Service Authentication (Easy Auth) with Microsoft Entra ID. It is always on with authMode=appservice. Unauthenticated requests still reach the app, so /api/chat keeps working with its function key and the /api/me routes answer 401 themselves. Ignored with deployChatPage: the Static Web App\'s link configures the function app\'s authentication itself.')
param enableEasyAuth bool = false

@description('Application (client) id of the Entra ID app registration that represents this API. Required when Easy Auth is on (enableEasyAuth or authMode=appservice).')
param easyAuthClientId string = ''

@description('Entra ID tenant that issues the tokens. Defaults to the tenant of the deployment.')
param easyAuthTenantId string = tenant().tenantId

@description('Accepted token audiences. Empty: api://<easyAuthClientId> and <easyAuthClientId>.')
param easyAuthAllowedAudiences array = []

// ---------------------------------------------------------------------------------------------------------------
// Chat page (web/): a Static Web App with this function app as its linked backend
// ---------------------------------------------------------------------------------------------------------------

@description('Create an Azure Static Web App for the chat page (web/) with this function app as its linked backend: page and /api on one origin, with Static Web Apps sign-in (set authMode to "appservice"). Standard plan, billed monthly (docs/chat-page.md).')
param deployChatPage bool = false

@allowed([
  'westus2'
  'centralus'
  'eastus2'
  'westeurope'
  'eastasia'
])
@description('Region of the chat page\'s Static Web App (they are offered in these regions only; it serves from a global edge anyway).')
param chatPageLocation string = 'westeurope'

// ---------------------------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = 'func-${resourceToken}'
var deploymentContainerName = 'app-package'
var mem0SecretName = 'mem0-api-key'
var openAiSecretName = 'openai-api-key'

// Role definitions (built-in role ids).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  cognitiveServicesOpenAiUser: '5e0bd9bd-7b93-4f28-af87-19fc36ad61bd'
}

// ---------------------------------------------------------------------------------------------------------------
// Monitoring: Log Analytics workspace + workspace-based Application Insights (Entra ID ingestion only)
// ---------------------------------------------------------------------------------------------------------------

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    IngestionMode: 'LogAnalytics'
    // Telemetry is accepted only with an Entra ID token: the app sends it with its managed identity.
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Storage: the runtime's AzureWebJobsStorage, the memory-writes queue and payloads, and the deployment package.
// No shared keys: everything reaches it with Entra ID.
// ---------------------------------------------------------------------------------------------------------------

resource storage 'Microsoft.Storage/storageAccounts@2024-01-01' = {
  name: 'st${resourceToken}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// The app also creates these at run time if they are missing; creating them here makes a fresh deployment complete.
resource payloadContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2024-01-01' = {
  parent: blobService
  name: '${memoryQueueName}-payloads'
  properties: {
    publicAccess: 'None'
  }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2024-01-01' = {
  parent: storage
  name: 'default'
}

resource memoryQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = {
  parent: queueService
  name: memoryQueueName
}

resource memoryPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2024-01-01' = {
  parent: queueService
  name: '${memoryQueueName}-poison'
}

// ---------------------------------------------------------------------------------------------------------------
// Key Vault (RBAC): the Mem0 and OpenAI keys, read by the app through Key Vault references.
// ---------------------------------------------------------------------------------------------------------------

resource keyVault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-${resourceToken}'
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

// Mem0: the Platform always needs a key, so the app always reads the secret there; a self-hosted server only when one is given.
var useMem0Key = memoryStore == 'mem0-platform' || !empty(mem0ApiKey)

resource mem0Secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(mem0ApiKey)) {
  parent: keyVault
  name: mem0SecretName
  properties: {
    value: mem0ApiKey
    contentType: 'Mem0 API key'
  }
}

// OpenAI: OpenAI itself always needs a key; an OpenAI-compatible server only when one is given; Azure OpenAI never (Entra ID).
var useOpenAiKey = !deployAzureOpenAi && (empty(openAiBaseUrl) || !empty(openAiApiKey))

resource openAiSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!deployAzureOpenAi && !empty(openAiApiKey)) {
  parent: keyVault
  name: openAiSecretName
  properties: {
    value: openAiApiKey
    contentType: 'OpenAI API key'
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Optional Azure OpenAI account + model deployment, called with the app's managed identity (local auth disabled).
// ---------------------------------------------------------------------------------------------------------------

resource openAi 'Microsoft.CognitiveServices/accounts@2024-10-01' = if (deployAzureOpenAi) {
  name: 'oai-${resourceToken}'
  location: azureOpenAiLocation
  tags: tags
  kind: 'OpenAI'
  sku: {
    name: 'S0'
  }
  properties: {
    customSubDomainName: 'oai-${resourceToken}'
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource openAiDeployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = if (deployAzureOpenAi) {
  parent: openAi
  name: azureOpenAiModelName
  sku: {
    name: azureOpenAiDeploymentSku
    capacity: azureOpenAiCapacity
  }
  properties: {
    model: {
      format: 'OpenAI'
      name: azureOpenAiModelName
      version: azureOpenAiModelVersion
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Function app: Flex Consumption (FC1, Linux), .NET 10 isolated, system-assigned identity.
// ---------------------------------------------------------------------------------------------------------------

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${resourceToken}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      cors: {
        allowedOrigins: corsAllowedOrigins
        supportCredentials: corsSupportCredentials
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'SystemAssignedIdentity'
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
  dependsOn: [
    deploymentContainer
  ]
}

// Basic (user name + password) publishing credentials off: deployments authenticate with Entra ID.
resource ftpCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmCredentials 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Role assignments for the app's system-assigned identity (and, optionally, the deploying user).
// ---------------------------------------------------------------------------------------------------------------

// Blob: runtime host (keys, leases), the deployment package and the payload container.
resource appStorageBlob 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Queue: the app sends to memory-writes; the queue trigger reads, deletes, and moves failures to the poison queue.
resource appStorageQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Table: used by the Functions runtime (for example diagnostic events) with identity-based AzureWebJobsStorage.
resource appStorageTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, functionApp.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource appKeyVaultSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(keyVault.id, functionApp.id, roles.keyVaultSecretsUser)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource appInsightsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, functionApp.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource appOpenAiUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (deployAzureOpenAi) {
  name: guid(openAi.id, functionApp.id, roles.cognitiveServicesOpenAiUser)
  scope: openAi
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.cognitiveServicesOpenAiUser)
    principalId: functionApp.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// The deploying user may set and rotate the secrets (docs/deploy.md).
resource userKeyVaultSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(keyVault.id, principalId, roles.keyVaultSecretsOfficer)
  scope: keyVault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: principalId
    principalType: principalType
  }
}

// ---------------------------------------------------------------------------------------------------------------
// App settings: the single source of the app's configuration in Azure (see the note at the top).
// ---------------------------------------------------------------------------------------------------------------

// Versionless secret URIs: the app follows the latest secret version (on restart, or within a day).
var mem0KeyReference = '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${mem0SecretName})'
var openAiKeyReference = '@Microsoft.KeyVault(SecretUri=${keyVault.properties.vaultUri}secrets/${openAiSecretName})'

var jwtAuthority = empty(authJwtAuthority)
  ? '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
  : authJwtAuthority
var jwtAudience = empty(authJwtAudience) && !empty(easyAuthClientId) ? 'api://${easyAuthClientId}' : authJwtAudience

var appSettings = {
  // Telemetry, read by the Functions host and the worker alike, sent with the app's identity (the component accepts
  // Entra ID only). OpenTelemetry mode is host.json's too: set here as well so the portal shows it and a deployment
  // can never fall back to the classic SDK, which would split the host's spans from the worker's.
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD'
  AzureFunctionsJobHost__telemetryMode: 'OpenTelemetry'
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint
  OTEL_EXPORTER_OTLP_PROTOCOL: otlpProtocol
  OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: captureMessageContent ? 'true' : 'false'

  // Identity-based AzureWebJobsStorage, read by the runtime (host, queue trigger) and by the app's own queue/blob clients.
  AzureWebJobsStorage__accountName: storage.name
  // The runtime's own storage clients (its queue trigger's among them) retry through a storage outage: with the SDK's
  // default they give up after ~25 s and the host shuts down (docs/storage-faults.md). Read by the runtime only; the
  // app's own clients keep their quick retries, since a chat reply must not wait on storage.
  AzureWebJobsStorage__Retry__MaxRetries: '10000'
  AzureWebJobsStorage__Retry__Delay: '00:00:01'
  AzureWebJobsStorage__Retry__MaxDelay: '00:00:05'

  // Chat model.
  AZURE_OPENAI_ENDPOINT: deployAzureOpenAi ? openAi!.properties.endpoint : ''
  AZURE_OPENAI_DEPLOYMENT: deployAzureOpenAi ? openAiDeployment.name : ''
  OPENAI_API_KEY: useOpenAiKey ? openAiKeyReference : ''
  OPENAI_BASE_URL: deployAzureOpenAi ? '' : openAiBaseUrl
  OPENAI_MODEL: deployAzureOpenAi ? '' : openAiModel
  OPENAI_TIMEOUT_SECONDS: string(openAiTimeoutSeconds)
  MODEL_STREAM_IDLE_SECONDS: string(modelStreamIdleSeconds)
  MODEL_CONTEXT_TOKENS: modelContextTokens == 0 ? '' : string(modelContextTokens)
  PROMPT_TOKEN_BUDGET: string(promptTokenBudget)
  MAX_OUTPUT_TOKENS: string(maxOutputTokens)

  // Memory store (and Mem0's connection when it is Mem0).
  MEMORY_STORE: memoryStore
  MEM0_API_KEY: useMem0Key ? mem0KeyReference : ''
  MEM0_BASE_URL: mem0BaseUrl

  // Memory and chat behaviour.
  MEMORY_QUEUE_NAME: memoryQueue.name
  MEMORY_SEARCH_TOP_K: string(memorySearchTopK)
  MEMORY_SEARCH_TIMEOUT_MS: string(memorySearchTimeoutMs)
  SUPPORT_INSTRUCTIONS: supportInstructions

  // Per-user limits (docs/limits.md): counted in the storage account's "userlimits" table.
  USER_REQUESTS_PER_MINUTE: string(userRequestsPerMinute)
  USER_TOKENS_PER_DAY: string(userTokensPerDay)

  // Signed-in users (/api/me/...). The JWT settings are empty unless authMode=jwt: the app refuses them otherwise.
  AUTH_MODE: authMode
  AUTH_JWT_AUTHORITY: authMode == 'jwt' ? jwtAuthority : ''
  AUTH_JWT_AUDIENCE: authMode == 'jwt' ? jwtAudience : ''
}

// A separate resource, applied after the identity has its roles, so Key Vault references and the identity-based
// storage connection resolve on first start.
resource functionAppSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: appSettings
  dependsOn: [
    appStorageBlob
    appStorageQueue
    appStorageTable
    appKeyVaultSecrets
    appInsightsPublisher
    appOpenAiUser
    mem0Secret
    openAiSecret
    memoryPoisonQueue
    payloadContainer
  ]
}

// App Service Authentication (Easy Auth) with Entra ID. It validates sign-ins and forwards the user to the app in
// X-MS-CLIENT-PRINCIPAL (stripping any copy a client sends), but lets unauthenticated requests through: /api/chat keeps
// working with its function key, and the /api/me routes answer 401 themselves (AUTH_MODE=appservice).
// Not with the chat page's Static Web App: linking a backend configures the function app's authentication itself (its
// "Azure Static Web Apps (Linked)" provider, through which the site forwards the signed-in user), and a second writer
// of the same authsettingsV2 would replace that on every deployment: the principal header would go missing.
resource easyAuth 'Microsoft.Web/sites/config@2024-04-01' = if (!deployChatPage && (enableEasyAuth || authMode == 'appservice')) {
  parent: functionApp
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    httpSettings: {
      requireHttps: true
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: easyAuthClientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${easyAuthTenantId}/v2.0'
        }
        validation: {
          allowedAudiences: empty(easyAuthAllowedAudiences)
            ? [
                'api://${easyAuthClientId}'
                easyAuthClientId
              ]
            : easyAuthAllowedAudiences
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

// ---------------------------------------------------------------------------------------------------------------
// Chat page
// ---------------------------------------------------------------------------------------------------------------

module chatPage 'chat-page.bicep' = if (deployChatPage) {
  name: 'chat-page'
  params: {
    name: 'swa-${resourceToken}'
    location: chatPageLocation
    tags: tags
    functionAppId: functionApp.id
    functionAppLocation: location
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Outputs (azd stores them in the environment)
// ---------------------------------------------------------------------------------------------------------------

output CHAT_ENDPOINT string = 'https://${functionApp.properties.defaultHostName}/api/chat'
output AZURE_FUNCTION_APP_NAME string = functionApp.name
output AZURE_RESOURCE_GROUP string = resourceGroup().name
output AZURE_KEY_VAULT_NAME string = keyVault.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.properties.vaultUri
output AZURE_STORAGE_ACCOUNT_NAME string = storage.name
output APPLICATIONINSIGHTS_NAME string = appInsights.name
output AZURE_OPENAI_ENDPOINT string = deployAzureOpenAi ? openAi!.properties.endpoint : ''
output AZURE_OPENAI_DEPLOYMENT string = deployAzureOpenAi ? openAiDeployment.name : ''
output CHAT_PAGE_URL string = deployChatPage ? chatPage!.outputs.url : ''
output AZURE_STATIC_WEB_APP_NAME string = deployChatPage ? chatPage!.outputs.name : ''
