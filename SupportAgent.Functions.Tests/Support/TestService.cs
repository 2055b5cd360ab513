using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Logs;
using SupportAgent.Fakes;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Memory;
using SupportAgent.SelfHost;

namespace SupportAgent.Functions.Tests.Support;

public sealed record TestServiceOptions
{
    public Mem0Flavor Mem0Flavor { get; init; } = Mem0Flavor.Platform;

    /// <summary>No Mem0 setting at all, as a newcomer runs it: the built-in store (embeddings in process, Azurite tables).</summary>
    public bool BuiltInMemory { get; init; }

    public bool RunQueueListener { get; init; }

    /// <summary>AUTH_MODE: "none" (default), "appservice" or "jwt" (against <see cref="TestService.Issuer"/>, a local test issuer).</summary>
    public string AuthMode { get; init; } = "none";

    /// <summary>The test issuer's "issuer" value in jwt mode; null: its own URL.</summary>
    public string? JwtIssuer { get; init; }

    /// <summary>In-memory exporters on the host's OpenTelemetry pipeline (<see cref="TestService.Telemetry"/>).</summary>
    public bool CaptureTelemetry { get; init; }

    /// <summary>Call the model through the Azure OpenAI deployment route instead of the OpenAI one.</summary>
    public bool AzureModel { get; init; }

    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// Off for storage that fails only after the start (a start against unreachable storage refuses to run): the
    /// start-up creation of the queues is skipped, the rest of the start is the same.
    /// </summary>
    public bool StorageReachableAtStart { get; init; } = true;

    /// <summary>
    /// A folder holding a local.settings.json, read as scripts/run.sh reads it: then the model and memory settings come
    /// from that file alone, and the test sets only where its Azurite, port and queue are.
    /// </summary>
    public string? LocalSettingsDirectory { get; init; }

    /// <summary>Changes to the host's services after the app's own registrations (e.g. a fake TimeProvider, a model whose load the test holds).</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }
}

/// <summary>
/// The real service (the self host: the function app's classes on Kestrel, over real HTTP on loopback) wired to
/// fake OpenAI and Mem0 servers and to Azurite, with a queue of its own. Hosts can be stopped and started again
/// over the same fakes and queue, as a restart would.
/// </summary>
public sealed class TestService : IAsyncDisposable
{
    public const string OpenAiKey = "test-openai-key";
    public const string Mem0Key = "test-mem0-key";

    private readonly TestServiceOptions _options;
    private WebApplication? _app;

    private TestService(TestServiceOptions options, FakeOpenAiServer model, FakeMem0Server mem0, FakeOidcIssuer? issuer)
    {
        _options = options;
        Model = model;
        Mem0 = mem0;
        Issuer = issuer;
        QueueName = Azurite.UniqueQueueName();
        RunQueueListener = options.RunQueueListener;
    }

    /// <summary>The local OpenID Connect issuer (AUTH_MODE=jwt only).</summary>
    public FakeOidcIssuer? Issuer { get; }

    /// <summary>Whether the next <see cref="StartHostAsync"/> runs the queue listener (a test may hold the queue, then drain it).</summary>
    public bool RunQueueListener { get; set; }

    public FakeOpenAiServer Model { get; }

    public FakeMem0Server Mem0 { get; }

    public string QueueName { get; }

    public HttpClient Client { get; private set; } = new();

    public LogCapture Logs { get; } = new();

    public TelemetryCapture Telemetry { get; } = new();

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("The host is not running.");

    /// <summary>The memory-writes queue read raw (no decoding), to see exactly what the trigger would receive.</summary>
    public QueueClient RawQueue => Azurite.Instance.Queue(QueueName);

    public QueueClient RawPoisonQueue => Azurite.Instance.Queue(QueueName + "-poison");

    public static async Task<TestService> StartAsync(TestServiceOptions? options = null)
    {
        options ??= new TestServiceOptions();
        _ = Azurite.Instance; // fail fast, with its own message, if Azurite cannot start
        var model = await FakeOpenAiServer.StartNewAsync(new FakeOpenAiServerOptions());
        var mem0 = await FakeMem0Server.StartNewAsync(new FakeMem0ServerOptions { Flavor = options.Mem0Flavor, ApiKey = Mem0Key });
        var issuer = options.AuthMode == "jwt" ? await FakeOidcIssuer.StartNewAsync(new FakeOidcIssuerOptions { Issuer = options.JwtIssuer }) : null;
        var service = new TestService(options, model, mem0, issuer);
        await service.StartHostAsync();
        return service;
    }

    public Dictionary<string, string?> EffectiveSettings()
    {
        var settings = new Dictionary<string, string?>
        {
            [SettingNames.SelfHostPort] = "0",
            [SettingNames.ConfigKey(SettingNames.Storage)] = Azurite.Instance.ConnectionString,
            [SettingNames.MemoryQueueName] = QueueName,
            [SettingNames.MemoryStore] = _options.BuiltInMemory ? null : _options.Mem0Flavor == Mem0Flavor.Server ? "mem0-server" : "mem0-platform",
            [SettingNames.Mem0BaseUrl] = _options.BuiltInMemory ? null : Mem0.BaseUrl,
            [SettingNames.Mem0ApiKey] = _options.BuiltInMemory ? null : Mem0Key,
            // Fast polling so tests see queue work quickly; host.json's values are what production uses.
            ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.200",
            [SettingNames.AuthMode] = _options.AuthMode,
            // Off unless a test sets it: tests share one Azurite (where the counts live) and reuse user ids such as user-001.
            [SettingNames.UserRequestsPerMinute] = "0",
        };
        if (_options.LocalSettingsDirectory is not null)
        {
            foreach (var fromFile in new[] { SettingNames.MemoryStore, SettingNames.Mem0BaseUrl, SettingNames.Mem0ApiKey })
            {
                settings.Remove(fromFile);
            }
            return settings;
        }
        if (Issuer is not null)
        {
            settings[SettingNames.AuthJwtAuthority] = Issuer.Authority;
            settings[SettingNames.AuthJwtAudience] = FakeOidcIssuer.DefaultAudience;
        }
        if (_options.AzureModel)
        {
            settings[SettingNames.AzureOpenAiEndpoint] = Model.AzureEndpoint;
            settings[SettingNames.AzureOpenAiDeployment] = "support-gpt";
            settings[SettingNames.AzureOpenAiApiKey] = OpenAiKey;
        }
        else
        {
            settings[SettingNames.OpenAiBaseUrl] = Model.OpenAiBaseUrl;
            settings[SettingNames.OpenAiApiKey] = OpenAiKey;
        }
        foreach (var (key, value) in _options.Settings)
        {
            settings[SettingNames.ConfigKey(key)] = value;
        }
        return settings;
    }

    public async Task StartHostAsync()
    {
        if (_app is not null)
        {
            throw new InvalidOperationException("A host is already running.");
        }
        var app = SelfHostApp.Build([], new SelfHostOptions
        {
            LocalSettingsDirectories = _options.LocalSettingsDirectory is { } directory ? [directory] : [],
            Overrides = EffectiveSettings(),
            RunQueueListener = RunQueueListener,
            Customize = builder =>
            {
                builder.Logging.ClearProviders(); // no console noise; every line is kept for the log-hygiene checks
                builder.Logging.AddOpenTelemetry(); // but the telemetry pipeline's log export stays, as in a real run
                builder.Logging.AddProvider(Logs);
                if (_options.CaptureTelemetry)
                {
                    Telemetry.AttachTo(builder);
                }
                _options.ConfigureServices?.Invoke(builder.Services);
            },
        });
        var problems = SettingsCheck.FindProblems(app.Services);
        Assert.True(problems.Count == 0, "Test settings are incomplete: " + string.Join("; ", problems));
        if (_options.StorageReachableAtStart)
        {
            await SelfHostApp.PrepareAsync(app, CancellationToken.None); // as a real start: queues created, chat path warmed up
        }
        else
        {
            await app.Services.GetRequiredService<Functions.Startup.StartupWork>().WarmUpAsync();
        }
        await app.StartAsync();
        _app = app;
        Telemetry.Bind(app.Services);
        string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // An outside caller: this process's own activities (it hosts the fakes and other tests' hosts) add no traceparent.
        Client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null }) { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task StopHostAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            Client.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public Task<HttpResponseMessage> PostChatAsync(string userId, params (string Role, string Content)[] messages) =>
        Client.PostAsJsonAsync("/api/chat", new { userId, messages = messages.Select(m => new { role = m.Role, content = m.Content }) });

    /// <summary>A request as a signed-in user: the Easy Auth principal headers, or a bearer token, or nothing.</summary>
    public Task<HttpResponseMessage> SendAsMeAsync(HttpMethod method, string path, SignIn? signIn, object? body = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = JsonContent.Create(body);
        }
        signIn?.Apply(request);
        return Client.SendAsync(request);
    }

    public Task<HttpResponseMessage> PostMeChatAsync(SignIn? signIn, string text, string? bodyUserId = null) =>
        SendAsMeAsync(HttpMethod.Post, "/api/me/chat", signIn, bodyUserId is null
            ? new { messages = new[] { new { role = "user", content = text } } }
            : new { userId = bodyUserId, messages = new[] { new { role = "user", content = text } } });

    public Task<HttpResponseMessage> PostRawAsync(string body, string contentType = "application/json") =>
        Client.PostAsync("/api/chat", new StringContent(body, Encoding.UTF8, contentType));

    /// <summary>Every message on the memory-writes queue, peeked (left in place), Base64-decoded.</summary>
    public async Task<IReadOnlyList<string>> PeekQueuedAsync()
    {
        if (!await RawQueue.ExistsAsync())
        {
            return [];
        }
        PeekedMessage[] peeked = (await RawQueue.PeekMessagesAsync(32)).Value;
        return peeked.Select(m => Encoding.UTF8.GetString(Convert.FromBase64String(m.Body.ToString()))).ToArray();
    }

    public async Task<int> QueueLengthAsync(QueueClient queue) =>
        await queue.ExistsAsync() ? (await queue.PeekMessagesAsync(32)).Value.Length : 0;

    public static MemoryWriteMessage ParseQueued(string json)
    {
        Assert.True(MemoryWriteMessage.TryParse(json, out var message, out string reason), "Queued message does not parse: " + reason);
        return message;
    }

    public async ValueTask DisposeAsync()
    {
        await StopHostAsync();
        await Model.DisposeAsync();
        await Mem0.DisposeAsync();
        if (Issuer is not null)
        {
            await Issuer.DisposeAsync();
        }
        try
        {
            await RawQueue.DeleteIfExistsAsync();
            await RawPoisonQueue.DeleteIfExistsAsync();
        }
        catch (Azure.RequestFailedException)
        {
            // Azurite is per test run and in memory; leftovers vanish with it.
        }
    }
}

/// <summary>Collects every log line the service writes, to check what the logs must never contain.</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _lines = new();

    public IReadOnlyList<string> Lines => _lines.ToArray();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _lines);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, System.Collections.Concurrent.ConcurrentQueue<string> lines) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lines.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {exception}");
        }
    }
}
