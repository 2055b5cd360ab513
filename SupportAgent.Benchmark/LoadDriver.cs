using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace SupportAgent.Benchmark;

/// <summary>What one load phase did: every answered chat's latency and how memory took part, plus failures.</summary>
internal sealed class LoadResult
{
    public List<double> LatenciesMs { get; } = [];

    /// <summary>Streamed chats only: time from sending the request to the first text-delta event.</summary>
    public List<double> FirstDeltaMs { get; } = [];

    /// <summary>Users whose chat was answered with memorySaved=true: each must get exactly one memory write.</summary>
    public HashSet<string> SavedUsers { get; } = new(StringComparer.Ordinal);

    /// <summary>Users whose chat was answered with memorySaved=false (the enqueue failed or timed out).</summary>
    public HashSet<string> UnsavedUsers { get; } = new(StringComparer.Ordinal);

    public int Answered { get; set; }

    public int Errors { get; set; }

    public int NotSaved { get; set; }

    public Dictionary<string, int> MemoryStatus { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, int> ErrorKinds { get; } = new(StringComparer.Ordinal);

    public double ElapsedSeconds { get; set; }

    public void Merge(LoadResult other)
    {
        LatenciesMs.AddRange(other.LatenciesMs);
        FirstDeltaMs.AddRange(other.FirstDeltaMs);
        SavedUsers.UnionWith(other.SavedUsers);
        UnsavedUsers.UnionWith(other.UnsavedUsers);
        Answered += other.Answered;
        Errors += other.Errors;
        NotSaved += other.NotSaved;
        foreach (var (k, v) in other.MemoryStatus)
        {
            MemoryStatus[k] = MemoryStatus.GetValueOrDefault(k) + v;
        }
        foreach (var (k, v) in other.ErrorKinds)
        {
            ErrorKinds[k] = ErrorKinds.GetValueOrDefault(k) + v;
        }
    }
}

/// <summary>
/// N clients, each posting the tutorial's request in a loop (a new user per request) until the deadline; JSON, or a
/// UI message stream read event by event (Accept: text/event-stream) as a browser reads it. One pooled
/// SocketsHttpHandler with a connection per client, so the driver never queues requests behind each other.
/// </summary>
internal sealed class LoadDriver : IDisposable
{
    // Bounds every loop even if the clock misbehaves: far above what 2 cores answer in the longest allowed duration.
    private const int MaxRequestsPerClient = 200_000;
    private const string Content = "Hi, my order #1234 hasn't arrived. It's been 10 days";
    private static readonly MediaTypeHeaderValue JsonType = new("application/json") { CharSet = "utf-8" };
    private static readonly MediaTypeWithQualityHeaderValue EventStream = new("text/event-stream");
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly Uri _chat;
    private readonly Dictionary<int, int> _nextUser = []; // per client, kept across phases so every user id is new

    public LoadDriver(Uri chat, int maxClients)
    {
        _chat = chat;
        _http = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = Math.Max(maxClients * 2, 16),
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
        })
        {
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public static string Body(string userId, string content = Content) =>
        $$"""{"userId":"{{userId}}","messages":[{"role":"user","content":"{{content}}"}]}""";

    /// <summary>
    /// Each client's n-th request: by default a new user with the tutorial's message; <paramref name="requestFor"/> picks
    /// the user and the message instead (scenario m asks users who already have memories).
    /// </summary>
    public async Task<LoadResult> RunAsync(int clients, TimeSpan duration, CancellationToken ct, bool stream = false, Func<int, int, (string UserId, string Content)>? requestFor = null)
    {
        requestFor ??= (client, n) => ($"bench-{client}-{n}", Content);
        long start = Stopwatch.GetTimestamp();
        long deadline = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var counters = Enumerable.Range(0, clients).Select(c => _nextUser.GetValueOrDefault(c)).ToArray();
        var results = await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(() => ClientAsync(c, counters[c], deadline, stream, requestFor, ct), ct)));
        var total = new LoadResult { ElapsedSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds };
        for (int c = 0; c < clients; c++)
        {
            _nextUser[c] = results[c].Next;
            total.Merge(results[c].Result);
        }
        return total;
    }

    /// <summary>One request, for readiness checks.</summary>
    public async Task<(int Status, string Body)> SendOnceAsync(string userId, CancellationToken ct)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Body(userId)));
        content.Headers.ContentType = JsonType;
        using var response = await _http.PostAsync(_chat, content, ct);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(ct));
    }

    private async Task<(LoadResult Result, int Next)> ClientAsync(int client, int next, long deadline, bool stream, Func<int, int, (string UserId, string Content)> requestFor, CancellationToken ct)
    {
        var result = new LoadResult();
        for (int i = 0; i < MaxRequestsPerClient && Stopwatch.GetTimestamp() < deadline; i++)
        {
            ct.ThrowIfCancellationRequested();
            var (user, text) = requestFor(client, next++);
            using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Body(user, text)));
            content.Headers.ContentType = JsonType;
            using var request = new HttpRequestMessage(HttpMethod.Post, _chat) { Content = content };
            if (stream)
            {
                request.Headers.Accept.Add(EventStream);
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(RequestTimeout);
            long t0 = Stopwatch.GetTimestamp();
            try
            {
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                if ((int)response.StatusCode != 200)
                {
                    await response.Content.ReadAsByteArrayAsync(timeout.Token);
                    Count(result, $"HTTP {(int)response.StatusCode}");
                    continue;
                }
                Reply reply = stream
                    ? await ReadStreamAsync(response, t0, timeout.Token)
                    : ReadJson(JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(timeout.Token)).RootElement);
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                if (reply.Error is { } error)
                {
                    Count(result, error);
                    continue;
                }
                result.Answered++;
                result.LatenciesMs.Add(ms);
                if (reply.FirstDeltaMs is { } first)
                {
                    result.FirstDeltaMs.Add(first);
                }
                result.MemoryStatus[reply.Memory] = result.MemoryStatus.GetValueOrDefault(reply.Memory) + 1;
                if (reply.Saved)
                {
                    result.SavedUsers.Add(user);
                }
                else
                {
                    result.NotSaved++;
                    result.UnsavedUsers.Add(user);
                }
            }
            catch (HttpRequestException ex)
            {
                Count(result, ex.HttpRequestError.ToString());
            }
            catch (JsonException)
            {
                Count(result, "unreadable reply");
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                Count(result, $"client timeout ({RequestTimeout.TotalSeconds:0} s)");
            }
        }
        return (result, next);
    }

    private sealed record Reply(string Memory, bool Saved, double? FirstDeltaMs = null, string? Error = null);

    /// <summary>Reads a UI message stream to its end: when the first text arrived, the finish event's memory figures, [DONE].</summary>
    private static async Task<Reply> ReadStreamAsync(HttpResponseMessage response, long t0, CancellationToken ct)
    {
        await using var body = await response.Content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(body, Encoding.UTF8);
        double? first = null;
        Reply? finish = null;
        bool done = false;
        while (await reader.ReadLineAsync(ct) is { } line)
        {
            if (!line.StartsWith("data: ", StringComparison.Ordinal))
            {
                continue;
            }
            string data = line[6..];
            if (data == "[DONE]")
            {
                done = true;
            }
            else if (first is null && data.Contains("\"type\":\"text-delta\"", StringComparison.Ordinal))
            {
                first = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            }
            else if (data.StartsWith("{\"type\":\"finish\"", StringComparison.Ordinal))
            {
                using var doc = JsonDocument.Parse(data);
                finish = ReadJson(doc.RootElement.GetProperty("messageMetadata"));
            }
            else if (data.StartsWith("{\"type\":\"error\"", StringComparison.Ordinal))
            {
                return new Reply("?", false, Error: "error event");
            }
        }
        return finish is null || first is null || !done
            ? new Reply("?", false, Error: "stream cut short")
            : finish with { FirstDeltaMs = first };
    }

    /// <summary>The reply's (or the finish metadata's) <c>memory</c> ("ok", "timeout", "unavailable") and <c>memorySaved</c>.</summary>
    private static Reply ReadJson(JsonElement root)
    {
        string memory = root.TryGetProperty("memory", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? "?" : "?";
        bool saved = root.TryGetProperty("memorySaved", out var s) && s.ValueKind == JsonValueKind.True;
        return new Reply(memory, saved);
    }

    private static void Count(LoadResult result, string kind)
    {
        result.Errors++;
        result.ErrorKinds[kind] = result.ErrorKinds.GetValueOrDefault(kind) + 1;
    }

    public void Dispose() => _http.Dispose();
}
