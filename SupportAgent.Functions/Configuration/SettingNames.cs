namespace SupportAgent.Functions.Configuration;

/// <summary>
/// Every app setting the service reads, by its exact name. Names follow the tutorial users come from
/// (OPENAI_API_KEY, OPENAI_MODEL, MEM0_API_KEY); the infrastructure drift test compares this list with the Bicep.
/// </summary>
public static class SettingNames
{
    public const string OpenAiApiKey = "OPENAI_API_KEY";
    public const string OpenAiModel = "OPENAI_MODEL";
    public const string OpenAiBaseUrl = "OPENAI_BASE_URL";
    public const string OpenAiTimeoutSeconds = "OPENAI_TIMEOUT_SECONDS";
    public const string ModelStreamIdleSeconds = "MODEL_STREAM_IDLE_SECONDS";
    public const string AzureOpenAiEndpoint = "AZURE_OPENAI_ENDPOINT";

    /// <summary>The token budget of every model call (Chat/ModelLimits).</summary>
    public const string ModelContextTokens = "MODEL_CONTEXT_TOKENS";
    public const string PromptTokenBudget = "PROMPT_TOKEN_BUDGET";
    public const string MaxOutputTokens = "MAX_OUTPUT_TOKENS";
    public const string AzureOpenAiDeployment = "AZURE_OPENAI_DEPLOYMENT";
    public const string AzureOpenAiApiKey = "AZURE_OPENAI_API_KEY";

    /// <summary>builtin (the default), mem0-platform or mem0-server.</summary>
    public const string MemoryStore = "MEMORY_STORE";
    public const string Mem0Api = "MEM0_API";
    public const string Mem0ApiKey = "MEM0_API_KEY";
    public const string Mem0BaseUrl = "MEM0_BASE_URL";

    public const string MemoryQueueName = "MEMORY_QUEUE_NAME";
    public const string MemorySearchTopK = "MEMORY_SEARCH_TOP_K";
    public const string MemorySearchTimeoutMs = "MEMORY_SEARCH_TIMEOUT_MS";
    public const string SupportInstructions = "SUPPORT_INSTRUCTIONS";

    /// <summary>Per-user limits, shared by every instance through the storage account (0 = off).</summary>
    public const string UserRequestsPerMinute = "USER_REQUESTS_PER_MINUTE";
    public const string UserTokensPerDay = "USER_TOKENS_PER_DAY";

    /// <summary>Who the signed-in user of the /api/me routes is: none, appservice (Easy Auth headers) or jwt (bearer tokens).</summary>
    public const string AuthMode = "AUTH_MODE";
    public const string AuthJwtAuthority = "AUTH_JWT_AUTHORITY";
    public const string AuthJwtAudience = "AUTH_JWT_AUDIENCE";

    /// <summary>The Functions runtime's storage connection: a connection string, or the identity-based
    /// <c>AzureWebJobsStorage__accountName</c> / <c>__queueServiceUri</c> / <c>__blobServiceUri</c> / <c>__clientId</c> form.</summary>
    public const string Storage = "AzureWebJobsStorage";
    public const string StorageAccountName = "AzureWebJobsStorage__accountName";
    public const string StorageQueueServiceUri = "AzureWebJobsStorage__queueServiceUri";
    public const string StorageBlobServiceUri = "AzureWebJobsStorage__blobServiceUri";
    public const string StorageTableServiceUri = "AzureWebJobsStorage__tableServiceUri";
    public const string StorageCredential = "AzureWebJobsStorage__credential";
    public const string StorageClientId = "AzureWebJobsStorage__clientId";

    /// <summary>Telemetry: Azure Monitor export (and its Entra ID sign-in), OTLP export, and the switch that turns it all off.</summary>
    public const string ApplicationInsightsConnectionString = "APPLICATIONINSIGHTS_CONNECTION_STRING";
    public const string ApplicationInsightsAuthenticationString = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING";
    public const string OtlpEndpoint = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string OtlpProtocol = "OTEL_EXPORTER_OTLP_PROTOCOL";
    public const string TelemetryDisabled = "OTEL_SDK_DISABLED";

    /// <summary>The GenAI instrumentations' own opt-in for prompt and reply text in telemetry (off by default).</summary>
    public const string GenAiCaptureMessageContent = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT";

    /// <summary>Self host only (the Functions host has its own Host.CORS and port settings).</summary>
    public const string CorsAllowedOrigins = "CORS_ALLOWED_ORIGINS";
    public const string CorsSupportCredentials = "CORS_SUPPORT_CREDENTIALS";
    public const string SelfHostPort = "PORT";

    /// <summary>Settings the service reads, with whether the service can start without them.</summary>
    public static IReadOnlyList<string> ReadByService { get; } =
    [
        OpenAiApiKey, OpenAiModel, OpenAiBaseUrl, OpenAiTimeoutSeconds, ModelStreamIdleSeconds,
        ModelContextTokens, PromptTokenBudget, MaxOutputTokens,
        AzureOpenAiEndpoint, AzureOpenAiDeployment, AzureOpenAiApiKey,
        MemoryStore, Mem0Api, Mem0ApiKey, Mem0BaseUrl,
        MemoryQueueName, MemorySearchTopK, MemorySearchTimeoutMs, SupportInstructions,
        UserRequestsPerMinute, UserTokensPerDay,
        AuthMode, AuthJwtAuthority, AuthJwtAudience,
        Storage, StorageAccountName, StorageQueueServiceUri, StorageBlobServiceUri, StorageTableServiceUri, StorageCredential, StorageClientId,
        ApplicationInsightsConnectionString, ApplicationInsightsAuthenticationString, OtlpEndpoint, OtlpProtocol, TelemetryDisabled,
        GenAiCaptureMessageContent,
    ];

    /// <summary>Settings only the self host reads.</summary>
    public static IReadOnlyList<string> ReadBySelfHostOnly { get; } = [CorsAllowedOrigins, CorsSupportCredentials, SelfHostPort];

    /// <summary>Turns a flat setting name into its IConfiguration key (<c>A__b</c> becomes <c>A:b</c>, as environment variables do).</summary>
    public static string ConfigKey(string settingName) => settingName.Replace("__", ":", StringComparison.Ordinal);
}
