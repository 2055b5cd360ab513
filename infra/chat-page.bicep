// The chat page (web/) as an Azure Static Web App whose /api is the function app (a linked backend): page and API on
// one origin, so no CORS and no key in the browser, and Static Web Apps' sign-in in front of both (the function app
// then receives the signed-in user in X-MS-CLIENT-PRINCIPAL; run it with AUTH_MODE=appservice). Linked backends need
// the Standard plan. The files are deployed apart from the infrastructure (docs/chat-page.md).

@description('Name of the Static Web App.')
param name string

@description('Region of the Static Web App; Static Web Apps are offered in fewer regions than function apps.')
param location string

@description('Tags of the environment.')
param tags object

@description('Resource id of the function app serving /api.')
param functionAppId string

@description('Region of the function app.')
param functionAppLocation string

resource site 'Microsoft.Web/staticSites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    // No repository: the files are uploaded with a deployment token (Static Web Apps CLI), not built by a workflow.
    allowConfigFileUpdates: true
    stagingEnvironmentPolicy: 'Disabled'
  }
}

resource api 'Microsoft.Web/staticSites/linkedBackends@2024-04-01' = {
  parent: site
  name: 'api'
  properties: {
    backendResourceId: functionAppId
    region: functionAppLocation
  }
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostname}'
