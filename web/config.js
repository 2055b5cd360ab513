// Where the page finds the SupportAgent API. Empty: the page's own origin (the self host serves both; a Static Web
// App with the function app as its linked backend proxies /api). To call a function app on another origin, set its
// base URL here, e.g. "https://func-supportagent-abc123.azurewebsites.net", and list this page's origin in its CORS.
window.SUPPORTAGENT_API = "";
