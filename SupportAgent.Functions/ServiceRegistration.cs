using System.Net.Http.Headers;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using SupportAgent.Functions.Chat;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Limits;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.BuiltIn;
using SupportAgent.Functions.Memory.Mem0;
using SupportAgent.Functions.Startup;
using SupportAgent.Functions.Storage;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions;

/// <summary>The app's whole composition, shared by the Functions host, the self host and the tests.</summary>
public static class ServiceRegistration
{
    public static IServiceCollection AddSupportAgent(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<SupportAgentMetrics>();
        // The self host registers the host.json it loaded (with its own path); the Functions worker reads the one next to it.
        services.TryAddSingleton(_ => HostJson.Load(HostJson.DefaultPath, configuration));

        services.AddOptions<ModelOptions>().Bind(configuration).PostConfigure(ModelOptions.DropPlaceholders).ValidateOnStart();
        services.AddOptions<ModelLimits>().Bind(configuration)
            .PostConfigure<IOptions<ModelOptions>>((limits, model) => ModelLimits.TakeModelName(limits, model.Value)).ValidateOnStart();
        services.AddOptions<MemoryStoreOptions>().Bind(configuration).ValidateOnStart();
        services.AddOptions<MemoryOptions>().Bind(configuration).ValidateOnStart();
        services.AddOptions<SupportPromptOptions>().Bind(configuration);
        services.AddOptions<StorageOptions>().Configure(o => StorageOptions.Bind(o, configuration)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelOptions>, ModelOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelLimits>, ModelLimitsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ModelLimits>, PromptRoomValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MemoryStoreOptions>, MemoryStoreOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MemoryOptions>, MemoryOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>());
        services.AddOptions<LimitOptions>().Bind(configuration).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LimitOptions>, LimitOptionsValidator>());
        services.AddOptions<AuthOptions>().Bind(configuration).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>());

        // Mem0: two typed clients, one per API, each with the standard resilience pipeline; the setting picks one.
        // One pipeline per kind of call (search / everything else), so each has its own circuit breaker: a Mem0 add
        // outage seen by the queue writer must not open the circuit for the chat path's searches.
        services.AddHttpClient<Mem0PlatformClient>((sp, http) =>
            {
                var o = sp.GetRequiredService<IOptions<MemoryStoreOptions>>().Value;
                http.BaseAddress = o.Mem0BaseAddress;
                http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", o.Mem0ApiKey);
            })
            .AddStandardResilienceHandler().Configure(ConfigureMem0Resilience)
            .SelectPipelineBy(_ => Mem0PipelineKey);
        services.AddHttpClient<Mem0ServerClient>((sp, http) =>
            {
                var o = sp.GetRequiredService<IOptions<MemoryStoreOptions>>().Value;
                http.BaseAddress = o.Mem0BaseAddress;
                if (o.Mem0ApiKey is { } key)
                {
                    http.DefaultRequestHeaders.Add("X-API-Key", key);
                }
            })
            .AddStandardResilienceHandler().Configure(ConfigureMem0Resilience)
            .SelectPipelineBy(_ => Mem0PipelineKey);
        // The built-in store: one embedding generator for the app (its model loads once, on first use or at start, and
        // never when Mem0 is used), replaceable by any other IEmbeddingGenerator registered before this call.
        services.TryAddSingleton<Microsoft.Extensions.AI.IEmbeddingGenerator<string, Microsoft.Extensions.AI.Embedding<float>>, MiniLmEmbeddingGenerator>();
        services.AddSingleton<MemoryIndexCache>();
        services.AddSingleton<BuiltInMemoryStore>();
        services.AddHostedService<MemoryStoreStartup>();
        services.AddTransient<IMemoryStore>(sp => sp.GetRequiredService<IOptions<MemoryStoreOptions>>().Value.Kind switch
        {
            MemoryStoreKind.Mem0Server => sp.GetRequiredService<Mem0ServerClient>(),
            MemoryStoreKind.Mem0Platform => sp.GetRequiredService<Mem0PlatformClient>(),
            _ => sp.GetRequiredService<BuiltInMemoryStore>(),
        });

        services.AddModel();

        services.TryAddSingleton<StorageReachability>(); // on every storage client: one outage, one log line, status 503
        services.AddSingleton<StorageClients>();
        services.AddSingleton<MemoryWriteQueue>();
        services.AddSingleton<PendingMemoryWrites>();
        services.AddHostedService(sp => sp.GetRequiredService<PendingMemoryWrites>()); // stops wait for background enqueues
        services.AddSingleton<SystemPrompt>();
        services.AddSingleton<ChatTokenCounter>(); // the tokenizer's tables load once
        services.AddSingleton<ConversationWindow>();
        services.AddSingleton<MemoryShare>();
        services.AddSingleton<PromptBudget>();
        services.AddTransient<MemoryRecall>();
        services.AddTransient<ChatService>();
        services.AddTransient<MemoryWriter>();
        services.AddSingleton<MemoryErasures>();
        services.AddSingleton<LimitCounters>();
        services.AddSingleton<UserLimiter>();
        services.AddTransient<UserMemories>();

        // Signed-in users: one service decides who calls the /api/me routes, on both hosts. The token validator (and its
        // cached issuer keys) lives for the app's lifetime; it is only built in AUTH_MODE=jwt.
        services.AddSingleton<SignedInUsers>();
        services.AddSingleton<BearerTokenValidator>();
        services.AddHttpClient(BearerTokenValidator.MetadataHttpClient, http => http.Timeout = TimeSpan.FromSeconds(10));
        services.AddSingleton<ChatPathWarmup>();
        services.AddSingleton<StartupWork>();
        return services;
    }

    private static readonly TimeSpan Mem0MaxRetryAfterWait = TimeSpan.FromSeconds(5);

    /// <summary>Both APIs' search paths contain "/search" (Platform v3/memories/search/, server /search); nothing else does.</summary>
    internal static string Mem0PipelineKey(HttpRequestMessage request) =>
        request.RequestUri?.AbsolutePath.Contains("/search", StringComparison.Ordinal) == true ? "search" : "other";

    /// <summary>
    /// An add is never retried in process: one that timed out may have been stored all the same, and the queue retries
    /// the whole message later anyway. Searches, lists and deletes are safe to repeat.
    /// </summary>
    internal static bool IsAdd(HttpRequestMessage? request) =>
        request?.Method == HttpMethod.Post && request.RequestUri?.AbsolutePath is { } path
        && (path.EndsWith("/memories/add/", StringComparison.Ordinal) || path.EndsWith("/memories", StringComparison.Ordinal));

    private static void ConfigureMem0Resilience(HttpStandardResilienceOptions o, IServiceProvider services)
    {
        // Polly's own log lines carry a stack trace per attempt (host.json turns them off); these are one line each.
        var log = services.GetRequiredService<ILoggerFactory>().CreateLogger(Mem0ResilienceLog.Category);
        o.Retry.OnRetry = args =>
        {
            Mem0ResilienceLog.Retrying(log, args.Context.GetRequestMessage(), args.AttemptNumber + 1, args.Outcome, args.RetryDelay);
            return default;
        };
        o.CircuitBreaker.OnOpened = args =>
        {
            Mem0ResilienceLog.CircuitOpened(log, args.Context.GetRequestMessage(), args.BreakDuration, args.Outcome);
            return default;
        };

        o.Retry.MaxRetryAttempts = 2;
        o.Retry.Delay = TimeSpan.FromMilliseconds(200);
        o.Retry.MaxDelay = TimeSpan.FromSeconds(5);
        // Honour a short Retry-After in process; a longer one is not waited out here: the call fails at once and the
        // queue retries the message later (the chat path has its own, shorter, budget anyway).
        var shouldHandle = o.Retry.ShouldHandle;
        o.Retry.ShouldHandle = args => args.Outcome.Result?.Headers.RetryAfter?.Delta > Mem0MaxRetryAfterWait || IsAdd(args.Context.GetRequestMessage())
            ? ValueTask.FromResult(false)
            : shouldHandle(args);
        // A self-hosted Mem0 server runs the LLM extraction inside the add request: 4-12 s is normal there.
        o.AttemptTimeout.Timeout = TimeSpan.FromSeconds(30);
        o.TotalRequestTimeout.Timeout = TimeSpan.FromSeconds(60);
        o.CircuitBreaker.SamplingDuration = TimeSpan.FromSeconds(60);
    }
}
