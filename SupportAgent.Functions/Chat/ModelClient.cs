using System.ClientModel;
using System.ClientModel.Primitives;
using Azure.AI.OpenAI;
using Azure.Identity;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using OpenAI;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// The chat model as a Microsoft.Extensions.AI <see cref="IChatClient"/>: OpenAI, OpenAI-compatible servers and Azure
/// OpenAI deployments, behind the middleware every model call goes through.
/// </summary>
public static class ModelClient
{
    /// <summary>
    /// The whole client pipeline, outermost first. Every host and test builds it here, so middleware added here (such as
    /// OpenTelemetry) applies to every model call, whole or streamed.
    /// </summary>
    public static IChatClient Create(ModelOptions options, HttpClient httpClient, ILoggerFactory loggerFactory) =>
        new ChatClientBuilder(CreateProviderClient(options, httpClient))
            // Outermost: callers see only ModelException (502/503/504 + Retry-After) or their own cancellation.
            .Use(inner => new ModelFailureClassifier(inner))
            // Debug lines per call (invoked, updates, completed, canceled), never content; see ContentFreeLogger.
            .Use(inner => new LoggingChatClient(inner, new ContentFreeLogger(loggerFactory.CreateLogger<LoggingChatClient>())))
            // Next to the provider, so it sees the provider's own outcome: the GenAI span ("chat <model>": model, token
            // usage, finish reason) and the gen_ai.client.* metrics, on the app's source and meter. Message text only
            // with the explicit opt-in (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true).
            // Its log lines go through the same content-free filter: its warnings quote the provider's exception text.
            .Use(inner => new OpenTelemetryChatClient(inner, new ContentFreeLogger(loggerFactory.CreateLogger<OpenTelemetryChatClient>()), SupportAgentTelemetry.Name)
            {
                EnableSensitiveData = options.CaptureMessageContent,
            })
            .Build();

    /// <summary>The provider's chat client, sending through the app's pooled HttpClient with the app's retry policy.</summary>
    public static IChatClient CreateProviderClient(ModelOptions o, HttpClient httpClient)
    {
        var transport = new HttpClientPipelineTransport(httpClient);
        var retry = new ChatRetryPolicy();
        if (o.Provider == ModelProvider.AzureOpenAi)
        {
            var azureOptions = new AzureOpenAIClientOptions { Transport = transport, RetryPolicy = retry, NetworkTimeout = o.Timeout };
            var endpoint = new Uri(o.AzureEndpoint!.Trim());
            var azure = string.IsNullOrWhiteSpace(o.AzureApiKey)
                ? new AzureOpenAIClient(endpoint, new DefaultAzureCredential(), azureOptions) // Entra ID: managed identity when deployed
                : new AzureOpenAIClient(endpoint, new ApiKeyCredential(o.AzureApiKey.Trim()), azureOptions);
            return azure.GetChatClient(o.AzureDeployment!.Trim()).AsIChatClient();
        }

        var options = new OpenAIClientOptions { Transport = transport, RetryPolicy = retry, NetworkTimeout = o.Timeout };
        if (!string.IsNullOrWhiteSpace(o.OpenAiBaseUrl))
        {
            options.Endpoint = new Uri(o.OpenAiBaseUrl.Trim());
        }
        // Local OpenAI-compatible servers (Ollama, vLLM, LM Studio) usually need no key, but the client requires one.
        string key = string.IsNullOrWhiteSpace(o.OpenAiApiKey) ? "no-key" : o.OpenAiApiKey.Trim();
        return new OpenAI.Chat.ChatClient(o.ModelName, new ApiKeyCredential(key), options).AsIChatClient();
    }
}

/// <summary>
/// Retries a failed model call twice, honouring Retry-After, but never makes the user wait long for it: when the
/// provider asks for more than <see cref="MaxWait"/>, the call fails at once and the client gets 503 with that Retry-After.
/// A stream is retried only until its response starts, as the OpenAI client's pipeline does.
/// </summary>
internal sealed class ChatRetryPolicy() : ClientRetryPolicy(maxRetries: 2)
{
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(3);

    protected override bool ShouldRetry(PipelineMessage message, Exception? exception) =>
        base.ShouldRetry(message, exception) && !(RetryAfter(message.Response) > MaxWait);

    protected override ValueTask<bool> ShouldRetryAsync(PipelineMessage message, Exception? exception) =>
        RetryAfter(message.Response) > MaxWait ? ValueTask.FromResult(false) : base.ShouldRetryAsync(message, exception);

    internal static TimeSpan? RetryAfter(PipelineResponse? response)
    {
        if (response is not null && response.Headers.TryGetValue("Retry-After", out var value))
        {
            if (int.TryParse(value, out int seconds))
            {
                return TimeSpan.FromSeconds(seconds);
            }
            if (DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var date))
            {
                return date - DateTimeOffset.UtcNow;
            }
        }
        return null;
    }
}

/// <summary>
/// Lets <see cref="LoggingChatClient"/> write its Debug lines (invoked, each update, completed, canceled) and nothing
/// else: its Trace lines hold whole prompts and replies (the user's messages and memories) and its Error line the
/// provider's exception text, which can echo the input. A failed call is logged once, by the chat function, with ids.
/// </summary>
internal sealed class ContentFreeLogger(ILogger inner) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

    public bool IsEnabled(LogLevel logLevel) => logLevel == LogLevel.Debug && inner.IsEnabled(logLevel);

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (IsEnabled(logLevel) && exception is null)
        {
            inner.Log(logLevel, eventId, state, exception, formatter);
        }
    }
}
