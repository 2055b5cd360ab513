using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// The chat model as the app's <see cref="IChatClient"/>: the provider's client (<see cref="ModelProviderClient"/>) behind
/// the middleware every model call goes through, whole or streamed, one concern per client. Registered once for the app
/// (<see cref="AddModel"/>); the warm-up and the tests build the same pipeline over HTTP of their own (<see cref="Create"/>).
/// </summary>
public static class ModelPipeline
{
    public const string HttpClientName = "model";

    /// <summary>The app's IChatClient, over a pooled HttpClient that lives as long as the app.</summary>
    public static IServiceCollection AddModel(this IServiceCollection services)
    {
        // The model client lives for the app's lifetime, so its connections are recycled by the handler instead.
        services.AddHttpClient(HttpClientName, http => http.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);
        services.AddChatClient(sp => ModelProviderClient.Create(
                sp.GetRequiredService<IOptions<ModelOptions>>().Value,
                sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName)))
            .UseSupportAgentMiddleware(sp => sp.GetRequiredService<IOptions<ModelOptions>>().Value,
                sp => sp.GetRequiredService<IOptions<ModelLimits>>().Value);
        return services;
    }

    /// <summary>The same pipeline over another HttpClient (a fake server, or canned answers).</summary>
    public static IChatClient Create(ModelOptions options, HttpClient httpClient, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null,
        ModelLimits? limits = null, ChatTokenCounter? counter = null)
    {
        limits ??= new ModelLimits { ModelName = options.ModelName };
        var services = new ServiceCollection();
        services.AddSingleton(loggerFactory ?? NullLoggerFactory.Instance);
        services.AddSingleton(timeProvider ?? TimeProvider.System);
        if (counter is not null)
        {
            services.AddSingleton(counter);
        }
        using var sp = services.BuildServiceProvider();
        return new ChatClientBuilder(ModelProviderClient.Create(options, httpClient))
            .UseSupportAgentMiddleware(_ => options, _ => limits)
            .Build(sp);
    }

    /// <summary>Outermost first.</summary>
    private static ChatClientBuilder UseSupportAgentMiddleware(this ChatClientBuilder builder, Func<IServiceProvider, ModelOptions> options,
        Func<IServiceProvider, ModelLimits> limits) => builder
        // Outermost: the prompt fitted to PROMPT_TOKEN_BUDGET and the output limited, before anything below sees the call
        // (the GenAI span records what was sent); a context-window refusal gets our token counts for its log line.
        .Use((inner, sp) =>
        {
            var l = limits(sp);
            var counter = sp.GetService<ChatTokenCounter>() ?? new ChatTokenCounter(l.ModelName);
            return new TokenBudgetChatClient(inner, new ConversationWindow(counter, Options.Create(l)), l, Logs(sp).CreateLogger<TokenBudgetChatClient>());
        })
        // Then: callers see only ModelException (502/503/504 + Retry-After) or their own cancellation.
        .Use(inner => new ModelFailureClassifier(inner))
        // Debug lines per call (invoked, updates, completed, canceled), never content; see ContentFreeLogger.
        .Use((inner, sp) => new LoggingChatClient(inner, new ContentFreeLogger(Logs(sp).CreateLogger<LoggingChatClient>())))
        // Next to the provider, so it sees the provider's own outcome (and a stream cut for going idle): the GenAI span
        // ("chat <model>": model, token usage, finish reason) and the gen_ai.client.* metrics, on the app's source and
        // meter. Message text only with the explicit opt-in (OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true).
        // Its log lines go through the same content-free filter: its warnings quote the provider's exception text.
        .Use((inner, sp) => new OpenTelemetryChatClient(inner, new ContentFreeLogger(Logs(sp).CreateLogger<OpenTelemetryChatClient>()), SupportAgentTelemetry.Name)
        {
            EnableSensitiveData = options(sp).CaptureMessageContent,
        })
        // A stream that stops sending is ended (the provider's timeout only covers the wait for its first byte).
        .Use((inner, sp) => new StreamIdleLimit(inner, options(sp).StreamIdleTimeout, sp.GetService<TimeProvider>() ?? TimeProvider.System,
            Logs(sp).CreateLogger<StreamIdleLimit>()));

    private static ILoggerFactory Logs(IServiceProvider sp) => sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
}
