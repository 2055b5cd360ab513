using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SupportAgent.Fakes;

/// <summary>
/// A fake Mem0: the hosted Platform API or the self-hosted REST server (<see cref="Mem0Flavor"/>), with the paths,
/// auth, request validation and response shapes the service's clients rely on (docs/mem0-api.md). "Extraction" is a stand-in:
/// each user message of an add becomes one memory; search ranks a user's memories by shared words, then recency.
/// Every request is recorded and counted; latency and faults can be injected per operation at run time.
/// </summary>
public sealed partial class FakeMem0Server : FakeHttpServer
{
    private static readonly int OperationCount = Enum.GetValues<Mem0Operation>().Length;

    private readonly FakeMem0ServerOptions _options;
    private readonly Mem0Store _store = new();
    private readonly ChangeSignal _changed = new();
    private readonly LatencySetting[] _latency;
    private readonly FaultInjector[] _faults;
    private readonly int[] _requests;
    private readonly ConcurrentDictionary<string, int> _addsByUser = new(StringComparer.Ordinal);
    private long _processingDelayTicks;
    private int _addsCompleted;
    private int _wildcardRequests;
    private int _unauthorized;
    private int _pageSizeLimit;
    private int _searchShape;
    private int _listShape;

    public FakeMem0Server(FakeMem0ServerOptions? options = null) : base((options ?? new()).Port)
    {
        _options = options ?? new();
        _latency = Enumerable.Range(0, OperationCount).Select(_ => new LatencySetting { Value = _options.OtherLatency }).ToArray();
        _latency[(int)Mem0Operation.Search].Value = _options.SearchLatency;
        _latency[(int)Mem0Operation.Add].Value = _options.AddLatency;
        _faults = Enumerable.Range(0, OperationCount).Select(_ => new FaultInjector()).ToArray();
        _requests = new int[OperationCount];
        ProcessingDelay = _options.ProcessingDelay;
        PageSizeLimit = _options.PageSizeLimit;
        Requests = new RequestLog<RecordedMem0Request>(_options.RecordCapacity);
    }

    /// <summary>Creates and starts a fake on a free port (or the given options' port).</summary>
    public static async Task<FakeMem0Server> StartNewAsync(FakeMem0ServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new FakeMem0Server(options);
        await server.StartAsync(cancellationToken);
        return server;
    }

    public Mem0Flavor Flavor => _options.Flavor;

    public FakeMem0ServerOptions Options => _options;

    /// <summary>Every request received, oldest first (bounded by <see cref="FakeMem0ServerOptions.RecordCapacity"/>).</summary>
    public RequestLog<RecordedMem0Request> Requests { get; }

    public IEnumerable<RecordedMem0Request> RequestsFor(Mem0Operation operation) => Requests.ToList().Where(r => r.Operation == operation);

    /// <summary>Requests of this operation since start or <see cref="Reset"/> (counts every one, unlike the bounded log).</summary>
    public int RequestCount(Mem0Operation operation) => Volatile.Read(ref _requests[(int)operation]);

    /// <summary>Adds whose memories have been stored (after the processing delay on the Platform).</summary>
    public int AddsCompleted => Volatile.Read(ref _addsCompleted);

    public int AddsFor(string userId) => _addsByUser.TryGetValue(userId, out int n) ? n : 0;

    /// <summary>Requests carrying a user id with '*' in it. A correct client keeps this at 0.</summary>
    public int WildcardUserIdRequests => Volatile.Read(ref _wildcardRequests);

    /// <summary>Requests answered 401.</summary>
    public int UnauthorizedRequests => Volatile.Read(ref _unauthorized);

    public int MemoryCount => _store.Count;

    /// <summary>A user's stored memories, newest first.</summary>
    public IReadOnlyList<Mem0Memory> MemoriesOf(string userId) => _store.List(userId);

    public LatencySetting LatencyFor(Mem0Operation operation) => _latency[(int)operation];

    public FaultInjector FaultsFor(Mem0Operation operation) => _faults[(int)operation];

    public TimeSpan SearchLatency
    {
        get => LatencyFor(Mem0Operation.Search).Value;
        set => LatencyFor(Mem0Operation.Search).Value = value;
    }

    public TimeSpan AddLatency
    {
        get => LatencyFor(Mem0Operation.Add).Value;
        set => LatencyFor(Mem0Operation.Add).Value = value;
    }

    /// <summary>Sets the latency of every operation other than search and add.</summary>
    public void SetOtherLatency(TimeSpan latency)
    {
        foreach (var op in Enum.GetValues<Mem0Operation>().Where(o => o is not (Mem0Operation.Search or Mem0Operation.Add)))
        {
            LatencyFor(op).Value = latency;
        }
    }

    public FaultInjector SearchFaults => FaultsFor(Mem0Operation.Search);

    public FaultInjector AddFaults => FaultsFor(Mem0Operation.Add);

    public void ClearFaults()
    {
        foreach (var injector in _faults)
        {
            injector.Clear();
        }
    }

    /// <summary>Platform only: how long an accepted add stays PENDING before its memories are stored.</summary>
    public TimeSpan ProcessingDelay
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _processingDelayTicks));
        set => Volatile.Write(ref _processingDelayTicks, Math.Max(0, value.Ticks));
    }

    /// <summary>Caps the page size of paginated lists (null: no cap).</summary>
    public int? PageSizeLimit
    {
        get => Volatile.Read(ref _pageSizeLimit) is var n && n > 0 ? n : null;
        set => Volatile.Write(ref _pageSizeLimit, value is > 0 ? value.Value : 0);
    }

    /// <summary>Overrides the shape of every search response.</summary>
    public Mem0ResponseShape SearchResponseShape
    {
        get => (Mem0ResponseShape)Volatile.Read(ref _searchShape);
        set => Volatile.Write(ref _searchShape, (int)value);
    }

    /// <summary>Overrides the shape of every list response.</summary>
    public Mem0ResponseShape ListResponseShape
    {
        get => (Mem0ResponseShape)Volatile.Read(ref _listShape);
        set => Volatile.Write(ref _listShape, (int)value);
    }

    /// <summary>Stores a memory directly (no HTTP, not counted as a request or an add), dated <paramref name="saidAt"/> or now.</summary>
    public Mem0Memory Seed(string userId, string text, IReadOnlyDictionary<string, string>? metadata = null, DateTimeOffset? saidAt = null)
    {
        JsonElement? meta = null;
        if (metadata is not null)
        {
            meta = JsonSerializer.SerializeToElement(metadata, SeedJson.Default.IReadOnlyDictionaryStringString);
        }
        var added = _store.Add(userId, [text], meta, dedupe: false, saidAt);
        _changed.Pulse();
        return added.Single();
    }

    /// <summary>Waits (without sleeping) until at least <paramref name="count"/> adds have completed.</summary>
    public Task WaitForAddsAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _changed.WaitUntilAsync(() => AddsCompleted >= count, timeout, $"{count} completed add(s) (have {AddsCompleted})", cancellationToken);

    /// <summary>Waits until at least <paramref name="count"/> adds for this user have completed.</summary>
    public Task WaitForAddsAsync(string userId, int count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _changed.WaitUntilAsync(() => AddsFor(userId) >= count, timeout, $"{count} completed add(s) for one user (have {AddsFor(userId)})", cancellationToken);

    /// <summary>Waits until at least <paramref name="count"/> requests of the operation have been answered or failed.</summary>
    public Task WaitForRequestsAsync(Mem0Operation operation, int count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _changed.WaitUntilAsync(() => RequestCount(operation) >= count, timeout, $"{count} {operation} request(s) (have {RequestCount(operation)})", cancellationToken);

    /// <summary>Waits until the condition holds; it is re-checked whenever the fake's state changes.</summary>
    public Task WaitUntilAsync(Func<FakeMem0Server, bool> condition, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _changed.WaitUntilAsync(() => condition(this), timeout, "the condition", cancellationToken);

    /// <summary>Forgets every memory, recorded request and counter, and clears faults. Latencies and shapes stay as set.</summary>
    public void Reset()
    {
        _store.Clear();
        _addsByUser.Clear();
        Requests.Clear();
        ClearFaults();
        foreach (var injector in _faults)
        {
            injector.ResetCount();
        }
        for (int i = 0; i < _requests.Length; i++)
        {
            Interlocked.Exchange(ref _requests[i], 0);
        }
        Interlocked.Exchange(ref _addsCompleted, 0);
        Interlocked.Exchange(ref _wildcardRequests, 0);
        Interlocked.Exchange(ref _unauthorized, 0);
        _changed.Pulse();
    }

    public Mem0Stats GetStats(bool includeUsers = false) => new(
        Flavor == Mem0Flavor.Platform ? "platform" : "server",
        Enum.GetValues<Mem0Operation>().ToDictionary(OperationName, RequestCount),
        AddsCompleted,
        MemoryCount,
        _store.UserCount,
        WildcardUserIdRequests,
        UnauthorizedRequests,
        _faults.Sum(f => f.Injected),
        Enum.GetValues<Mem0Operation>().ToDictionary(OperationName, o => LatencyFor(o).Value.TotalMilliseconds),
        includeUsers ? new Dictionary<string, int>(_addsByUser) : null);

    internal static string OperationName(Mem0Operation operation) => operation switch
    {
        Mem0Operation.DeleteAll => "deleteAll",
        _ => operation.ToString().ToLowerInvariant(),
    };

    /// <summary>Operations named in the control surface: one name, "other" (all but search and add) or "all".</summary>
    internal static IEnumerable<Mem0Operation> ParseOperations(string? name)
    {
        string key = (name ?? "all").Trim();
        if (key.Equals("all", StringComparison.OrdinalIgnoreCase))
        {
            return Enum.GetValues<Mem0Operation>();
        }
        if (key.Equals("other", StringComparison.OrdinalIgnoreCase) || key.Equals("others", StringComparison.OrdinalIgnoreCase))
        {
            return Enum.GetValues<Mem0Operation>().Where(o => o is not (Mem0Operation.Search or Mem0Operation.Add));
        }
        if (key.Equals("delete-all", StringComparison.OrdinalIgnoreCase))
        {
            return [Mem0Operation.DeleteAll];
        }
        return Enum.TryParse<Mem0Operation>(key, ignoreCase: true, out var op)
            ? [op]
            : throw new ArgumentException($"Unknown operation '{name}'; use search, add, list, get, delete, deleteAll, other or all.");
    }

    protected override void MapRoutes(WebApplication app)
    {
        if (Flavor == Mem0Flavor.Platform)
        {
            MapPlatform(app);
        }
        else
        {
            MapServer(app);
        }

        app.MapGet("/_fake/stats", ctx =>
        {
            bool users = ctx.Request.Query.TryGetValue("users", out var u) && u.ToString() is "1" or "true";
            return HttpIo.WriteJsonAsync(ctx, 200, GetStats(users), ControlJson.Relaxed.Mem0Stats);
        });
        app.MapPost("/_fake/reset", ctx =>
        {
            Reset();
            return HttpIo.WriteJsonAsync(ctx, 200, new ControlOk(true), ControlJson.Relaxed.ControlOk);
        });
        app.MapPost("/_fake/config", ConfigureAsync);
        app.MapFallback(ctx => HandleAsync(ctx, Mem0Operation.Unknown, NotFoundAsync));
    }

    private async Task ConfigureAsync(HttpContext context)
    {
        try
        {
            var config = await JsonSerializer.DeserializeAsync(context.Request.Body, ControlJson.Relaxed.Mem0ConfigRequest, context.RequestAborted)
                ?? throw new JsonException("empty body");
            foreach (var (name, ms) in config.LatencyMs ?? [])
            {
                foreach (var op in ParseOperations(name))
                {
                    LatencyFor(op).Value = TimeSpan.FromMilliseconds(ms);
                }
            }
            if (config.ProcessingDelayMs is { } delay)
            {
                ProcessingDelay = TimeSpan.FromMilliseconds(delay);
            }
            if (config.PageSizeLimit is { } limit)
            {
                PageSizeLimit = limit;
            }
            if (config.ClearFaults == true)
            {
                ClearFaults();
            }
            foreach (var fault in config.Faults ?? [])
            {
                foreach (var op in ParseOperations(fault.Operation))
                {
                    fault.ApplyTo(FaultsFor(op));
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            await HttpIo.WriteJsonAsync(context, 400, new ControlOk(false, ex.Message), ControlJson.Relaxed.ControlOk);
            return;
        }
        await HttpIo.WriteJsonAsync(context, 200, GetStats(), ControlJson.Relaxed.Mem0Stats);
    }

    private void Map(WebApplication app, string method, string pattern, Mem0Operation operation, Func<Call, Task> handler) =>
        app.MapMethods(pattern, [method], ctx => HandleAsync(ctx, operation, handler));

    /// <summary>The pipeline every Mem0 request goes through: path check, record, latency, fault, auth, handler.</summary>
    private async Task HandleAsync(HttpContext context, Mem0Operation operation, Func<Call, Task> handler)
    {
        // ASP.NET routing ignores a trailing slash; the real APIs do not. Platform paths end with '/', server paths never.
        string path = context.Request.Path.Value ?? "/";
        if (operation != Mem0Operation.Unknown && path.Length > 1 && path.EndsWith('/') != (Flavor == Mem0Flavor.Platform))
        {
            operation = Mem0Operation.Unknown;
            handler = NotFoundAsync;
        }

        byte[] bytes = await HttpIo.ReadBodyAsync(context);
        using var document = HttpIo.TryParse(bytes);
        var body = document?.RootElement ?? default;
        var (userId, source, wildcard) = FindUserId(context, body);
        var recorded = new RecordedMem0Request
        {
            Operation = operation,
            Method = context.Request.Method,
            Path = path,
            QueryString = context.Request.QueryString.Value ?? "",
            Body = Encoding.UTF8.GetString(bytes),
            Authorization = HttpIo.Header(context, "Authorization"),
            XApiKey = HttpIo.Header(context, "X-API-Key"),
            TraceParent = HttpIo.Header(context, "traceparent"),
            ContentType = context.Request.ContentType,
            UserId = userId,
            UserIdSource = source,
            HasWildcardUserId = wildcard,
            ReceivedAt = DateTimeOffset.UtcNow,
        };
        Requests.Add(recorded);
        // Counted on arrival (and the status captured as headers go out), so a client that has its answer always
        // sees its request in the counters and the log.
        Interlocked.Increment(ref _requests[(int)operation]);
        if (wildcard)
        {
            Interlocked.Increment(ref _wildcardRequests);
        }
        context.Response.OnStarting(static state =>
        {
            var (r, ctx) = ((RecordedMem0Request, HttpContext))state;
            r.ResponseStatus = ctx.Response.StatusCode;
            return Task.CompletedTask;
        }, (recorded, context));
        _changed.Pulse();

        try
        {
            if (!await DelayAsync(LatencyFor(operation).Value, context))
            {
                recorded.ResponseStatus = 0;
                return;
            }
            if (FaultsFor(operation).TryTake() is { } fault)
            {
                if (!await ApplyConnectionFaultAsync(fault, context))
                {
                    await HttpIo.WriteFaultAsync(context, fault, FaultBody(fault.Status));
                }
                recorded.ResponseStatus = fault.Status;
                return;
            }
            var auth = Authenticate(context);
            if (auth == Auth.Denied)
            {
                Interlocked.Increment(ref _unauthorized);
                await HttpIo.WriteRawJsonAsync(context, 401, UnauthorizedBody(context));
            }
            else
            {
                await handler(new Call(context, body, document is not null, recorded, auth == Auth.Admin));
            }
            recorded.ResponseStatus = context.Response.StatusCode;
        }
        finally
        {
            _changed.Pulse();
        }
    }

    private enum Auth
    {
        Denied,
        User,
        Admin,
    }

    private Auth Authenticate(HttpContext context)
    {
        if (Flavor == Mem0Flavor.Platform)
        {
            string? header = HttpIo.Header(context, "Authorization");
            const string Scheme = "Token ";
            if (header is null || !header.StartsWith(Scheme, StringComparison.Ordinal) || header.Length == Scheme.Length)
            {
                return Auth.Denied;
            }
            return _options.ApiKey is null || header[Scheme.Length..] == _options.ApiKey ? Auth.User : Auth.Denied;
        }

        if (_options.ApiKey is null && _options.AdminApiKey is null)
        {
            return Auth.Admin; // AUTH_DISABLED=true
        }
        string? key = HttpIo.Header(context, "X-API-Key");
        if (key is null && HttpIo.Header(context, "Authorization") is { } authorization && authorization.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            key = authorization["Bearer ".Length..]; // stands in for a JWT: the bearer token must be one of the keys
        }
        if (key is null)
        {
            return Auth.Denied;
        }
        if (_options.AdminApiKey is not null && key == _options.AdminApiKey)
        {
            return Auth.Admin;
        }
        return _options.ApiKey is not null && key == _options.ApiKey ? Auth.User : Auth.Denied;
    }

    private string UnauthorizedBody(HttpContext context)
    {
        if (Flavor == Mem0Flavor.Platform)
        {
            return """{"detail":"Invalid API key. You can find your API key on https://app.mem0.ai/dashboard/api-keys."}""";
        }
        bool presented = HttpIo.Header(context, "X-API-Key") is not null
            || (HttpIo.Header(context, "Authorization")?.StartsWith("Bearer ", StringComparison.Ordinal) ?? false);
        return presented
            ? """{"detail":"Invalid API key."}"""
            : """{"detail":"Authentication required. Provide a Bearer token or X-API-Key header."}""";
    }

    private string FaultBody(int status) => (Flavor, status) switch
    {
        (Mem0Flavor.Platform, 429) => """{"detail":"Request was throttled. Expected available in 7 seconds."}""",
        (Mem0Flavor.Platform, 401) => """{"detail":"Invalid API key. You can find your API key on https://app.mem0.ai/dashboard/api-keys."}""",
        (Mem0Flavor.Platform, 400) => """{"error":"400 Bad Request","details":{"message":"Invalid input data."}}""",
        (Mem0Flavor.Platform, 404) => """{"error":"Memory not found!"}""",
        (Mem0Flavor.Platform, >= 500) => """{"detail":"Internal server error. Please try again later."}""",
        (Mem0Flavor.Server, 401) => """{"detail":"Authentication required. Provide a Bearer token or X-API-Key header."}""",
        (Mem0Flavor.Server, 502) => """{"detail":"The LLM provider is rate limiting requests.","code":"provider_rate_limited","request_id":"fake-request"}""",
        (Mem0Flavor.Server, >= 500) => """{"detail":"Internal Server Error"}""",
        _ => $$"""{"detail":"Injected fault (HTTP {{status}})."}""",
    };

    private Task NotFoundAsync(Call call) =>
        HttpIo.WriteRawJsonAsync(call.Http, 404, Flavor == Mem0Flavor.Platform ? """{"detail":"Not found."}""" : """{"detail":"Not Found"}""");

    /// <summary>The first user id in the request, where it was, and whether any user id in it holds a wildcard.</summary>
    private static (string? UserId, string? Source, bool Wildcard) FindUserId(HttpContext context, JsonElement body)
    {
        var found = new List<(string Value, string Source)>();
        foreach (var value in context.Request.Query["user_id"])
        {
            found.Add((value ?? "", "query"));
        }
        if (body.ValueKind == JsonValueKind.Object)
        {
            if (HttpIo.StringProperty(body, "user_id") is { } top)
            {
                found.Add((top, "body"));
            }
            if (body.TryGetProperty("filters", out var filters))
            {
                foreach (var value in FilterValues(filters, "user_id"))
                {
                    found.Add((value, "filters"));
                }
            }
        }
        if (found.Count == 0)
        {
            return (null, null, false);
        }
        return (found[0].Value, found[0].Source, found.Any(f => f.Value.Contains('*', StringComparison.Ordinal)));
    }

    /// <summary>String values of a field in a filters object, including inside AND/OR lists (v2 style).</summary>
    private static IEnumerable<string> FilterValues(JsonElement filters, string name)
    {
        if (filters.ValueKind == JsonValueKind.Array)
        {
            foreach (var item in filters.EnumerateArray())
            {
                foreach (var value in FilterValues(item, name))
                {
                    yield return value;
                }
            }
            yield break;
        }
        if (filters.ValueKind != JsonValueKind.Object)
        {
            yield break;
        }
        foreach (var property in filters.EnumerateObject())
        {
            if (property.NameEquals(name) && property.Value.ValueKind == JsonValueKind.String)
            {
                yield return property.Value.GetString()!;
            }
            else if (property.Name is "AND" or "OR" or "and" or "or")
            {
                foreach (var value in FilterValues(property.Value, name))
                {
                    yield return value;
                }
            }
        }
    }

    /// <summary>The memory scope of a request: the user id, else another entity id (prefixed), else null.</summary>
    private static string? Scope(Func<string, string?> read)
    {
        if (read("user_id") is { Length: > 0 } user)
        {
            return user;
        }
        foreach (var entity in (ReadOnlySpan<string>)["agent_id", "app_id", "run_id"])
        {
            if (read(entity) is { Length: > 0 } id)
            {
                return entity[..^3] + ":" + id;
            }
        }
        return null;
    }

    private static string? ScopeFromBody(JsonElement body) => body.ValueKind == JsonValueKind.Object ? Scope(n => HttpIo.StringProperty(body, n)) : null;

    private static string? ScopeFromFilters(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("filters", out var filters)
            ? Scope(n => FilterValues(filters, n).FirstOrDefault())
            : null;

    private static string? ScopeFromQuery(HttpContext context) =>
        Scope(n => context.Request.Query.TryGetValue(n, out var v) ? v.ToString() : null);

    private static bool HasTopLevelEntity(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object
        && (body.TryGetProperty("user_id", out _) || body.TryGetProperty("agent_id", out _) || body.TryGetProperty("app_id", out _) || body.TryGetProperty("run_id", out _));

    /// <summary>The "extraction" stand-in: each user message's content becomes one memory; other roles are ignored.</summary>
    private static List<string> UserTexts(JsonElement body)
    {
        var texts = new List<string>();
        if (body.ValueKind != JsonValueKind.Object || !body.TryGetProperty("messages", out var messages))
        {
            return texts;
        }
        if (messages.ValueKind == JsonValueKind.String)
        {
            texts.Add(messages.GetString()!); // the OSS API also takes a plain string as one user message
            return texts;
        }
        if (messages.ValueKind != JsonValueKind.Array)
        {
            return texts;
        }
        foreach (var message in messages.EnumerateArray())
        {
            if (HttpIo.StringProperty(message, "role") == "user" && HttpIo.StringProperty(message, "content") is { } content && content.Trim().Length > 0)
            {
                texts.Add(content.Trim());
            }
        }
        return texts;
    }

    private static bool HasMessages(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("messages", out var messages)
        && ((messages.ValueKind == JsonValueKind.Array && messages.GetArrayLength() > 0) || messages.ValueKind == JsonValueKind.String);

    private static JsonElement? Metadata(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
            ? metadata.Clone()
            : null;

    private List<Mem0Memory> StoreAdd(string scope, List<string> texts, JsonElement? metadata, DateTimeOffset? saidAt = null)
    {
        var added = _store.Add(scope, texts, metadata, _options.DeduplicateExactMatches, saidAt);
        _addsByUser.AddOrUpdate(scope, 1, (_, n) => n + 1);
        Interlocked.Increment(ref _addsCompleted);
        _changed.Pulse();
        return added;
    }

    private static int? IntProperty(JsonElement body, string name) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n)
            ? n
            : null;

    private static int? IntQuery(HttpContext context, string name) =>
        context.Request.Query.TryGetValue(name, out var value) && int.TryParse(value.ToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)
            ? n
            : null;

    private sealed record Call(HttpContext Http, JsonElement Body, bool BodyIsJson, RecordedMem0Request Recorded, bool IsAdmin);
}

[System.Text.Json.Serialization.JsonSerializable(typeof(IReadOnlyDictionary<string, string>))]
internal sealed partial class SeedJson : System.Text.Json.Serialization.JsonSerializerContext;
