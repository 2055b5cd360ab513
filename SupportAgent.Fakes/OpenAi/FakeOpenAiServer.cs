using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace SupportAgent.Fakes;

/// <summary>Which URL shape a chat request came in on.</summary>
public enum ChatRoute
{
    /// <summary><c>POST /v1/chat/completions</c>, Bearer auth.</summary>
    OpenAi,

    /// <summary><c>POST /openai/deployments/{deployment}/chat/completions?api-version=…</c>, <c>api-key</c> header.</summary>
    Azure,
}

public sealed record RecordedChatMessage(string Role, string? Content);

/// <summary>One chat request as the fake received it.</summary>
public sealed record RecordedChatRequest(
    ChatRoute Route,
    string Path,
    string? Deployment,
    string? ApiVersion,
    string? Authorization,
    string? ApiKey,
    string? Model,
    IReadOnlyList<RecordedChatMessage> Messages,
    bool Stream,
    string Body,
    DateTimeOffset ReceivedAt,
    string? TraceParent = null,
    int PromptTokens = 0,
    int? MaxOutputTokens = null)
{
    /// <summary>The first system message (the app's system prompt), if any.</summary>
    public string? SystemPrompt => Messages.FirstOrDefault(m => m.Role == "system")?.Content;

    public IEnumerable<RecordedChatMessage> SystemMessages => Messages.Where(m => m.Role is "system" or "developer");

    public string? LastUserMessage => Messages.LastOrDefault(m => m.Role == "user")?.Content;
}

public sealed record FakeOpenAiServerOptions
{
    /// <summary>0 picks a free port.</summary>
    public int Port { get; init; }

    /// <summary>When set, requests must carry it (<c>Authorization: Bearer</c> on the OpenAI routes, <c>api-key</c> or
    /// Bearer on the Azure route), else 401. When null any key, or none, is accepted (and still recorded).</summary>
    public string? RequiredApiKey { get; init; }

    /// <summary>Time before the answer starts: the whole completion, or a stream's first token (time to first token).</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>Streams only: the time from the first content chunk to the last, spread evenly between the chunks.</summary>
    public TimeSpan StreamDuration { get; init; }

    /// <summary>How many requests <see cref="FakeOpenAiServer.Requests"/> keeps (oldest dropped first).</summary>
    public int RecordCapacity { get; init; } = 100_000;

    /// <summary>
    /// The model's context window: a request whose prompt (counted as OpenAI counts it) plus its output limit is larger is
    /// refused with OpenAI's real 400 <c>context_length_exceeded</c>. Null: no limit.
    /// </summary>
    public int? ContextWindowTokens { get; init; }
}

/// <summary>
/// A fake OpenAI / Azure OpenAI chat-completions server. Records every request, answers with a real
/// <c>chat.completion</c> (or SSE chunks for <c>"stream": true</c>), and injects latency and faults on demand.
/// </summary>
public sealed class FakeOpenAiServer(FakeOpenAiServerOptions? options = null) : FakeHttpServer((options ?? new()).Port)
{
    public const string MemoryHeading = "## What we know about this user";

    private readonly FakeOpenAiServerOptions _options = options ?? new();
    private readonly LatencySetting _latency = new() { Value = (options ?? new()).Latency };
    private readonly LatencySetting _streamDuration = new() { Value = (options ?? new()).StreamDuration };
    private readonly Lock _holdLock = new();
    private int _holdAfterChunks = -1;
    private TaskCompletionSource<bool> _release = NewRelease();
    private int _abandoned;
    private readonly ChangeSignal _changed = new();
    private Func<RecordedChatRequest, string> _responder = DefaultReply;
    private int _openAiRequests;
    private int _azureRequests;
    private int _streamRequests;
    private long _completionNumber;
    private int _contextWindowTokens = (options ?? new()).ContextWindowTokens ?? 0;
    private int _contextRejections;

    /// <summary>Creates and starts a fake on a free port (or the given options' port).</summary>
    public static async Task<FakeOpenAiServer> StartNewAsync(FakeOpenAiServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        var server = new FakeOpenAiServer(options);
        await server.StartAsync(cancellationToken);
        return server;
    }

    /// <summary>The base URL to give an OpenAI client (<c>OPENAI_BASE_URL</c>): <c>http://127.0.0.1:port/v1</c>.</summary>
    public string OpenAiBaseUrl => BaseUrl + "/v1";

    /// <summary>The endpoint to give an Azure OpenAI client (<c>AZURE_OPENAI_ENDPOINT</c>).</summary>
    public string AzureEndpoint => BaseUrl + "/";

    /// <summary>Every chat request received, oldest first (bounded by <see cref="FakeOpenAiServerOptions.RecordCapacity"/>).</summary>
    public RequestLog<RecordedChatRequest> Requests { get; } = new((options ?? new()).RecordCapacity);

    /// <summary>Chat requests received since start or <see cref="Reset"/> (not bounded like <see cref="Requests"/>).</summary>
    public int RequestCount => Volatile.Read(ref _openAiRequests) + Volatile.Read(ref _azureRequests);

    public TimeSpan Latency
    {
        get => _latency.Value;
        set => _latency.Value = value;
    }

    /// <summary>Streams only: the time from the first content chunk to the last (see <see cref="FakeOpenAiServerOptions.StreamDuration"/>).</summary>
    public TimeSpan StreamDuration
    {
        get => _streamDuration.Value;
        set => _streamDuration.Value = value;
    }

    /// <summary>The finish reason of every reply ("stop"; "length" as if cut by the output limit, "content_filter"...).</summary>
    public string FinishReason
    {
        get => Volatile.Read(ref _finishReason);
        set => Volatile.Write(ref _finishReason, value);
    }

    private string _finishReason = "stop";

    /// <summary>The context window enforced (see <see cref="FakeOpenAiServerOptions.ContextWindowTokens"/>); null for none.</summary>
    public int? ContextWindowTokens
    {
        get => Volatile.Read(ref _contextWindowTokens) is > 0 and var n ? n : null;
        set => Volatile.Write(ref _contextWindowTokens, value ?? 0);
    }

    /// <summary>Requests refused with <c>context_length_exceeded</c>.</summary>
    public int ContextRejections => Volatile.Read(ref _contextRejections);

    /// <summary>Chat requests whose client went away before the answer was complete (it hung up or cancelled the call).</summary>
    public int Abandoned => Volatile.Read(ref _abandoned);

    /// <summary>
    /// Holds every stream after its first <paramref name="chunks"/> content chunks until <see cref="ReleaseStreams"/>, so a
    /// test can look at a reply while it is still being written, without timing anything.
    /// </summary>
    public void HoldStreamsAfter(int chunks)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(chunks);
        lock (_holdLock)
        {
            _holdAfterChunks = chunks;
        }
    }

    /// <summary>Lets held streams (and later ones) run to their end.</summary>
    public void ReleaseStreams() => EndHold(cut: false);

    /// <summary>Drops the connection of every held stream, as a provider failing mid-reply would; later streams run normally.</summary>
    public void CutHeldStreams() => EndHold(cut: true);

    private void EndHold(bool cut)
    {
        lock (_holdLock)
        {
            _holdAfterChunks = -1;
            _release.TrySetResult(cut);
            _release = NewRelease();
        }
    }

    /// <summary>Waits (without sleeping) until at least <paramref name="count"/> chat requests were abandoned by their client.</summary>
    public Task WaitForAbandonedAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _changed.WaitUntilAsync(() => Abandoned >= count, timeout, $"{count} abandoned chat request(s) (have {Abandoned})", cancellationToken);

    public FaultInjector Faults { get; } = new();

    /// <summary>Produces the reply text. Thread-safe to swap at run time; defaults to <see cref="DefaultReply"/>.</summary>
    public Func<RecordedChatRequest, string> Responder
    {
        get => Volatile.Read(ref _responder);
        set => Volatile.Write(ref _responder, value ?? DefaultReply);
    }

    /// <summary>Waits (without sleeping) until at least <paramref name="count"/> chat requests have arrived.</summary>
    public Task WaitForRequestsAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        _changed.WaitUntilAsync(() => RequestCount >= count, timeout, $"{count} chat request(s) (have {RequestCount})", cancellationToken);

    /// <summary>Clears recorded requests, counters and faults; latency and responder stay as set.</summary>
    public void Reset()
    {
        Requests.Clear();
        Faults.Clear();
        Faults.ResetCount();
        Interlocked.Exchange(ref _openAiRequests, 0);
        Interlocked.Exchange(ref _azureRequests, 0);
        Interlocked.Exchange(ref _streamRequests, 0);
        Interlocked.Exchange(ref _abandoned, 0);
        Interlocked.Exchange(ref _contextRejections, 0);
        _changed.Pulse();
    }

    public OpenAiStats GetStats() => new(
        new Dictionary<string, int>
        {
            ["chat"] = RequestCount,
            ["openai"] = Volatile.Read(ref _openAiRequests),
            ["azure"] = Volatile.Read(ref _azureRequests),
            ["stream"] = Volatile.Read(ref _streamRequests),
            ["abandoned"] = Volatile.Read(ref _abandoned),
            ["contextRejections"] = ContextRejections,
        },
        Faults.Injected,
        Latency.TotalMilliseconds);

    /// <summary>
    /// The default reply: deterministic, short, and shows what the model was told about the user, e.g.
    /// <c>I remember: Prefers email; Order #1234 is late. You said: "Any updates?"</c>
    /// </summary>
    public static string DefaultReply(RecordedChatRequest request)
    {
        var facts = MemoryFacts(request.SystemPrompt);
        string remembered = facts.Count == 0 ? "nothing about you yet" : string.Join("; ", facts.Select(f => f.TrimEnd('.', ' ')));
        string said = request.LastUserMessage?.ReplaceLineEndings(" ").Trim() ?? "";
        if (said.Length > 200)
        {
            said = string.Concat(said.AsSpan(0, 197), "...");
        }
        return $"I remember: {remembered}. You said: \"{said}\"";
    }

    /// <summary>The "- fact" lines under the system prompt's <see cref="MemoryHeading"/> section.</summary>
    public static IReadOnlyList<string> MemoryFacts(string? systemPrompt)
    {
        var facts = new List<string>();
        if (string.IsNullOrEmpty(systemPrompt))
        {
            return facts;
        }
        bool inSection = false;
        foreach (var raw in systemPrompt.Split('\n'))
        {
            string line = raw.TrimEnd('\r');
            if (line.StartsWith('#'))
            {
                inSection = line.Trim().Equals(MemoryHeading, StringComparison.OrdinalIgnoreCase);
                continue;
            }
            if (inSection && line.StartsWith("- ", StringComparison.Ordinal) && line.Length > 2)
            {
                facts.Add(line[2..].Trim());
            }
        }
        return facts;
    }

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/v1/chat/completions", ctx => HandleChatAsync(ctx, ChatRoute.OpenAi, null));
        app.MapPost("/openai/deployments/{deployment}/chat/completions",
            ctx => HandleChatAsync(ctx, ChatRoute.Azure, ctx.Request.RouteValues["deployment"] as string));

        app.MapGet("/_fake/stats", ctx => HttpIo.WriteJsonAsync(ctx, 200, GetStats(), ControlJson.Relaxed.OpenAiStats));
        app.MapPost("/_fake/reset", ctx =>
        {
            Reset();
            return HttpIo.WriteJsonAsync(ctx, 200, new ControlOk(true), ControlJson.Relaxed.ControlOk);
        });
        app.MapPost("/_fake/config", ConfigureAsync);
        app.MapFallback(ctx => HttpIo.WriteJsonAsync(ctx, 404,
            Error($"Unknown request URL: {ctx.Request.Method} {ctx.Request.Path}.", "invalid_request_error", "unknown_url"),
            OpenAiWireJson.Relaxed.OpenAiErrorBody));
    }

    private async Task ConfigureAsync(HttpContext context)
    {
        OpenAiConfigRequest? config;
        try
        {
            config = await JsonSerializer.DeserializeAsync(context.Request.Body, ControlJson.Relaxed.OpenAiConfigRequest, context.RequestAborted);
            if (config is null)
            {
                throw new JsonException("empty body");
            }
            if (config.LatencyMs is { } ms)
            {
                Latency = TimeSpan.FromMilliseconds(ms);
            }
            if (config.StreamMs is { } streamMs)
            {
                StreamDuration = TimeSpan.FromMilliseconds(streamMs);
            }
            if (config.ContextTokens is { } contextTokens)
            {
                ContextWindowTokens = contextTokens > 0 ? contextTokens : null;
            }
            if (config.ClearFaults == true)
            {
                Faults.Clear();
            }
            config.Fault?.ApplyTo(Faults);
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            await HttpIo.WriteJsonAsync(context, 400, new ControlOk(false, ex.Message), ControlJson.Relaxed.ControlOk);
            return;
        }
        await HttpIo.WriteJsonAsync(context, 200, GetStats(), ControlJson.Relaxed.OpenAiStats);
    }

    private async Task HandleChatAsync(HttpContext context, ChatRoute route, string? deployment)
    {
        byte[] body = await HttpIo.ReadBodyAsync(context);
        using var document = HttpIo.TryParse(body);
        var root = document?.RootElement ?? default;
        string? apiVersion = context.Request.Query.TryGetValue("api-version", out var v) ? v.ToString() : null;
        var messages = ReadMessages(root);
        string? requestModel = HttpIo.StringProperty(root, "model");
        var recorded = new RecordedChatRequest(
            route,
            context.Request.Path.Value ?? "",
            deployment,
            apiVersion,
            HttpIo.Header(context, "Authorization"),
            HttpIo.Header(context, "api-key"),
            requestModel,
            messages,
            root.ValueKind == JsonValueKind.Object && root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True,
            Encoding.UTF8.GetString(body),
            DateTimeOffset.UtcNow,
            HttpIo.Header(context, "traceparent"),
            FakeTokenCounter.CountPrompt(messages, requestModel ?? deployment),
            IntProperty(root, "max_completion_tokens") ?? IntProperty(root, "max_tokens"));
        Requests.Add(recorded);
        Interlocked.Increment(ref route == ChatRoute.Azure ? ref _azureRequests : ref _openAiRequests);
        if (recorded.Stream)
        {
            Interlocked.Increment(ref _streamRequests);
        }
        _changed.Pulse();

        if (!await DelayAsync(Latency, context))
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                CountAbandoned(); // hung up before the answer (or a stream's first token)
            }
            return;
        }
        if (Faults.TryTake() is { } fault)
        {
            if (!await ApplyConnectionFaultAsync(fault, context))
            {
                await HttpIo.WriteFaultAsync(context, fault, FaultBody(fault.Status));
            }
            return;
        }
        if (!IsAuthorized(recorded))
        {
            var unauthorized = route == ChatRoute.Azure
                ? """{"error":{"code":"401","message":"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"""
                : """{"error":{"message":"Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""";
            await HttpIo.WriteRawJsonAsync(context, 401, unauthorized);
            return;
        }
        if (route == ChatRoute.Azure && string.IsNullOrWhiteSpace(apiVersion))
        {
            await HttpIo.WriteRawJsonAsync(context, 400,
                """{"error":{"code":"MissingApiVersionParameter","message":"The api-version query parameter (?api-version=) is required for all requests."}}""");
            return;
        }
        if (root.ValueKind != JsonValueKind.Object || recorded.Messages.Count == 0)
        {
            await HttpIo.WriteJsonAsync(context, 400,
                Error("The request body must be JSON with a non-empty 'messages' array.", "invalid_request_error", null, "messages"),
                OpenAiWireJson.Relaxed.OpenAiErrorBody);
            return;
        }

        if (ContextWindowTokens is { } window && recorded.PromptTokens + (recorded.MaxOutputTokens ?? 0) > window)
        {
            // OpenAI's own words; Azure OpenAI answers with the same code.
            Interlocked.Increment(ref _contextRejections);
            int asked = recorded.MaxOutputTokens ?? 0;
            await HttpIo.WriteJsonAsync(context, 400, Error(
                $"This model's maximum context length is {window} tokens. However, you requested {recorded.PromptTokens + asked} tokens " +
                $"({recorded.PromptTokens} in the messages, {asked} in the completion). Please reduce the length of the messages or completion.",
                "invalid_request_error", "context_length_exceeded", "messages"), OpenAiWireJson.Relaxed.OpenAiErrorBody);
            return;
        }

        string reply = Responder(recorded);
        string model = recorded.Model ?? deployment ?? "gpt-4o-mini";
        string id = $"chatcmpl-fake{Interlocked.Increment(ref _completionNumber):D8}";
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        int promptTokens = recorded.PromptTokens;
        int completionTokens = Math.Max(1, FakeTokenCounter.Count(reply, model));
        var usage = new ChatCompletionUsage(promptTokens, completionTokens, promptTokens + completionTokens);

        if (recorded.Stream)
        {
            bool includeUsage = root.TryGetProperty("stream_options", out var so) && so.ValueKind == JsonValueKind.Object
                && so.TryGetProperty("include_usage", out var iu) && iu.ValueKind == JsonValueKind.True;
            await StreamAsync(context, id, created, model, reply, includeUsage ? usage : null);
            return;
        }
        var completion = new ChatCompletion(id, "chat.completion", created, model,
            [new ChatCompletionChoice(0, new ChatCompletionMessage("assistant", reply), FinishReason)], usage, "fp_fake");
        await HttpIo.WriteJsonAsync(context, 200, completion, OpenAiWireJson.Relaxed.ChatCompletion);
    }

    private async Task StreamAsync(HttpContext context, string id, long created, string model, string reply, ChatCompletionUsage? usage)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, Stopping);
        var ct = linked.Token;

        async Task SendAsync(ChatCompletionChunk chunk)
        {
            await context.Response.WriteAsync("data: ", ct);
            await JsonSerializer.SerializeAsync(context.Response.Body, chunk, OpenAiWireJson.Relaxed.ChatCompletionChunk, ct);
            await context.Response.WriteAsync("\n\n", ct);
            await context.Response.Body.FlushAsync(ct);
        }

        ChatCompletionChunk Chunk(ChatCompletionDelta delta, string? finish) =>
            new(id, "chat.completion.chunk", created, model, [new ChatCompletionChunkChoice(0, delta, finish)], null);

        try
        {
            await SendAsync(Chunk(new ChatCompletionDelta("assistant", ""), null));
            // Word-sized pieces, as models stream tokens; the stream duration is spread evenly between them, each piece
            // due at a fixed time from the first (timer delays do not add up over a long reply).
            var pieces = SplitForStreaming(reply);
            var gap = pieces.Count > 1 ? StreamDuration / (pieces.Count - 1) : TimeSpan.Zero;
            long first = Stopwatch.GetTimestamp();
            for (int i = 0; i < pieces.Count; i++)
            {
                var wait = gap * i - Stopwatch.GetElapsedTime(first);
                if (i > 0 && wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, ct);
                }
                await SendAsync(Chunk(new ChatCompletionDelta(null, pieces[i]), null));
                if (await WaitWhileHeldAsync(i + 1, ct))
                {
                    context.Abort();
                    return;
                }
            }
            await SendAsync(Chunk(new ChatCompletionDelta(null, null), FinishReason));
            if (usage is not null)
            {
                await SendAsync(new ChatCompletionChunk(id, "chat.completion.chunk", created, model, [], usage));
            }
            await context.Response.WriteAsync("data: [DONE]\n\n", ct);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException && context.RequestAborted.IsCancellationRequested)
        {
            CountAbandoned();
        }
    }

    private void CountAbandoned()
    {
        Interlocked.Increment(ref _abandoned);
        _changed.Pulse();
    }

    /// <summary>Waits while streams are held after this chunk; true when the hold ended in a cut.</summary>
    private async Task<bool> WaitWhileHeldAsync(int chunksSent, CancellationToken ct)
    {
        Task<bool> release;
        lock (_holdLock)
        {
            if (_holdAfterChunks < 0 || chunksSent != _holdAfterChunks)
            {
                return false;
            }
            release = _release.Task;
        }
        return await release.WaitAsync(ct);
    }

    private static TaskCompletionSource<bool> NewRelease() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The reply in word-sized pieces (each word with the space after it), so clients exercise their concatenation.</summary>
    internal static List<string> SplitForStreaming(string text)
    {
        var pieces = new List<string>();
        int start = 0;
        while (start < text.Length)
        {
            int space = text.IndexOf(' ', start);
            int end = space < 0 ? text.Length : space + 1;
            pieces.Add(text[start..end]);
            start = end;
        }
        return pieces;
    }

    private bool IsAuthorized(RecordedChatRequest request)
    {
        if (_options.RequiredApiKey is not { } key)
        {
            return true;
        }
        if (request.Authorization == "Bearer " + key)
        {
            return true;
        }
        return request.Route == ChatRoute.Azure && request.ApiKey == key;
    }

    private static List<RecordedChatMessage> ReadMessages(JsonElement root)
    {
        var messages = new List<RecordedChatMessage>();
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("messages", out var array) || array.ValueKind != JsonValueKind.Array)
        {
            return messages;
        }
        foreach (var message in array.EnumerateArray())
        {
            string role = HttpIo.StringProperty(message, "role") ?? "";
            string? content = null;
            if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("content", out var c))
            {
                content = c.ValueKind switch
                {
                    JsonValueKind.String => c.GetString(),
                    // Content parts: [{"type":"text","text":"..."}]; keep the text parts.
                    JsonValueKind.Array => string.Concat(c.EnumerateArray().Select(p => HttpIo.StringProperty(p, "text"))),
                    _ => null,
                };
            }
            messages.Add(new RecordedChatMessage(role, content));
        }
        return messages;
    }

    private static int? IntProperty(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number
            && value.TryGetInt32(out int n) ? n : null;

    private static OpenAiErrorBody Error(string message, string type, string? code, string? param = null) =>
        new(new OpenAiError(message, type, param, code));

    private static string FaultBody(int status) => status switch
    {
        429 => """{"error":{"message":"Rate limit reached for requests. Please try again later.","type":"requests","param":null,"code":"rate_limit_exceeded"}}""",
        401 => """{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""",
        400 => """{"error":{"message":"Bad request (injected fault).","type":"invalid_request_error","param":null,"code":null}}""",
        >= 500 => """{"error":{"message":"The server had an error while processing your request. Sorry about that!","type":"server_error","param":null,"code":null}}""",
        _ => $$$"""{"error":{"message":"Injected fault (HTTP {{{status}}}).","type":"fake_fault","param":null,"code":null}}""",
    };
}
