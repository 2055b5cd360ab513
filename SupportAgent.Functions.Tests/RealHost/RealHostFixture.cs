using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using SupportAgent.Fakes;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.RealHost;

/// <summary>The real-host tests share one host (started once) and run one after another: each may set the fakes' faults.</summary>
[CollectionDefinition(Name)]
public sealed class RealHostCollection : ICollectionFixture<RealHostFixture>
{
    public const string Name = "Real Functions host";
}

/// <summary>
/// The function app's build output under the real Azure Functions host, as <c>func start</c> and Azure run it, with
/// an Azurite of its own, the fake model and Mem0 Platform, a local OpenID Connect issuer (AUTH_MODE=jwt) and a
/// telemetry sink that both the host and the worker export OTLP to. Queue retries are quick here (3 tries, 1 s
/// apart, through the host.json overrides the Functions host reads); everything else is host.json as shipped.
/// Without FUNCTIONS_HOST_START nothing starts: the tests are skipped.
/// </summary>
public class RealHostFixture : IAsyncLifetime
{
    public const string Mem0Key = "real-host-mem0-key";
    public const int MaxDequeueCount = 3;

    private Azurite? _azurite;
    private readonly List<IAsyncDisposable> _fakes = [];

    internal FunctionsHostProcess Host { get; private set; } = null!;

    public FakeOpenAiServer Model { get; private set; } = null!;

    public FakeMem0Server Mem0 { get; private set; } = null!;

    public FakeOidcIssuer? Issuer { get; private set; }

    public FakeTelemetrySink Telemetry { get; private set; } = null!;

    public string QueueName { get; } = Azurite.UniqueQueueName("rh");

    public QueueClient Queue => new(_azurite!.ConnectionString, QueueName);

    public QueueClient PoisonQueue => new(_azurite!.ConnectionString, QueueName + "-poison");

    public BlobContainerClient Payloads => new(_azurite!.ConnectionString, QueueName + "-payloads");

    /// <summary>This host's own Azurite, for a fixture whose tests stop and restart it.</summary>
    internal Azurite StorageEmulator => _azurite ?? throw new InvalidOperationException("The host was not started.");

    /// <summary>AUTH_MODE of this host: jwt, so /api/me is served with bearer tokens from <see cref="Issuer"/>.</summary>
    protected virtual string AuthMode => "jwt";

    public async Task InitializeAsync()
    {
        if (FunctionsHostProcess.StartScript is not { } script)
        {
            return; // every test here is skipped (RealHostFact)
        }
        try
        {
            await StartAsync(script, FunctionsHostProcess.AppBuildOutput());
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    private async Task StartAsync(string script, string scriptRoot)
    {
        _azurite = Azurite.StartNew();
        Model = await Add(FakeOpenAiServer.StartNewAsync());
        Mem0 = await Add(FakeMem0Server.StartNewAsync(new FakeMem0ServerOptions { Flavor = Mem0Flavor.Platform, ApiKey = Mem0Key }));
        Telemetry = new FakeTelemetrySink();
        _fakes.Add(Telemetry);
        await Telemetry.StartAsync();
        if (AuthMode == "jwt")
        {
            Issuer = await Add(FakeOidcIssuer.StartNewAsync());
        }

        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = _azurite.ConnectionString,
            ["MEMORY_QUEUE_NAME"] = QueueName,
            ["OPENAI_BASE_URL"] = Model.OpenAiBaseUrl,
            ["OPENAI_API_KEY"] = "real-host-openai-key",
            ["MEMORY_STORE"] = "mem0-platform",
            ["MEM0_BASE_URL"] = Mem0.BaseUrl,
            ["MEM0_API_KEY"] = Mem0Key,
            ["AUTH_MODE"] = AuthMode,
            // Quick retries, through the host.json overrides (app settings) the host and the app both read.
            ["AzureFunctionsJobHost__extensions__queues__maxDequeueCount"] = MaxDequeueCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["AzureFunctionsJobHost__extensions__queues__visibilityTimeout"] = "00:00:01",
            ["AzureFunctionsJobHost__extensions__queues__maxPollingInterval"] = "00:00:00.500",
            // As deployed (infra/main.bicep): the runtime's storage clients retry through an outage instead of failing.
            ["AzureWebJobsStorage__Retry__MaxRetries"] = "10000",
            ["AzureWebJobsStorage__Retry__Delay"] = "00:00:01",
            ["AzureWebJobsStorage__Retry__MaxDelay"] = "00:00:05",
            // Both processes export OTLP/http to the sink, in small batches so a test sees a span soon after it ends.
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Telemetry.BaseUrl,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "200",
            // A key of Chat's own (FUNCTION_KEY): accepted there, not on the other function-level routes.
            ["FUNCTION_KEYS"] = "Chat",
        };
        if (Issuer is not null)
        {
            settings["AUTH_JWT_AUTHORITY"] = Issuer.Authority;
            settings["AUTH_JWT_AUDIENCE"] = FakeOidcIssuer.DefaultAudience;
        }
        string workFolder = Path.Combine(Path.GetTempPath(), $"supportagent-real-host-{Guid.NewGuid():N}");
        Host = await FunctionsHostProcess.StartAsync(script, scriptRoot, settings, workFolder);
    }

    private async Task<T> Add<T>(Task<T> starting) where T : IAsyncDisposable
    {
        var fake = await starting;
        _fakes.Add(fake);
        return fake;
    }

    public async Task DisposeAsync()
    {
        if (Host is { } host)
        {
            Host = null!;
            await host.DisposeAsync();
        }
        foreach (var fake in _fakes)
        {
            await fake.DisposeAsync();
        }
        _fakes.Clear();
        _azurite?.Dispose();
        _azurite = null;
    }

    public HttpClient Client => Host.Client;

    /// <summary>POST /api/chat, as the tutorial's backend sends it, with a key (the host key unless told otherwise).</summary>
    public Task<HttpResponseMessage> PostChatAsync(string userId, string text, string? key = FunctionsHostProcess.HostKey,
        Action<HttpRequestMessage>? configure = null, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        var request = FunctionsHostProcess.Request(HttpMethod.Post, "api/chat", key,
            JsonContent.Create(new { userId, messages = new[] { new { role = "user", content = text } } }));
        configure?.Invoke(request);
        return Client.SendAsync(request, completion);
    }

    /// <summary>A chat answered 200 in JSON; returns its body.</summary>
    public async Task<JsonElement> ChatAsync(string userId, string text)
    {
        using var response = await PostChatAsync(userId, text);
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"chat answered {(int)response.StatusCode}: {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>
    /// Waits until nothing is left on the memory-writes queue, visible or not: every write queued so far has ended
    /// (written, or moved to the poison queue), so a test that injects faults affects only its own writes.
    /// </summary>
    public Task WaitForQueueDrainedAsync() => Eventually.WaitFor(
        async () => await Queue.ExistsAsync() ? (await Queue.GetPropertiesAsync()).Value.ApproximateMessagesCount : 0,
        n => n == 0, TimeSpan.FromSeconds(90), "the memory-writes queue to drain");

    /// <summary>The spans both processes exported so far with this trace id.</summary>
    internal IReadOnlyList<OtlpSpan> SpansOf(string traceId) => OtlpExports.Spans(Telemetry).Where(s => s.TraceId == traceId).ToList();
}
