using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace SupportAgent.Benchmark;

/// <summary>What one load phase did: every answered chat's latency and how memory took part, plus failures.</summary>
internal sealed class LoadResult
{
    public List<double> LatenciesMs { get; } = [];

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
/// N clients, each posting the tutorial's request in a loop (a new user per request) until the deadline. One pooled
/// SocketsHttpHandler with a connection per client, so the driver never queues requests behind each other.
/// </summary>
internal sealed class LoadDriver : IDisposable
{
    // Bounds every loop even if the clock misbehaves: far above what 2 cores answer in the longest allowed duration.
    private const int MaxRequestsPerClient = 200_000;
    private const string Content = "Hi, my order #1234 hasn't arrived. It's been 10 days";
    private static readonly MediaTypeHeaderValue JsonType = new("application/json") { CharSet = "utf-8" };

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

    public static string Body(string userId) =>
        $$"""{"userId":"{{userId}}","messages":[{"role":"user","content":"{{Content}}"}]}""";

    public async Task<LoadResult> RunAsync(int clients, TimeSpan duration, CancellationToken ct)
    {
        long start = Stopwatch.GetTimestamp();
        long deadline = start + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var counters = Enumerable.Range(0, clients).Select(c => _nextUser.GetValueOrDefault(c)).ToArray();
        var results = await Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(() => ClientAsync(c, counters[c], deadline, ct), ct)));
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

    private async Task<(LoadResult Result, int Next)> ClientAsync(int client, int next, long deadline, CancellationToken ct)
    {
        var result = new LoadResult();
        for (int i = 0; i < MaxRequestsPerClient && Stopwatch.GetTimestamp() < deadline; i++)
        {
            ct.ThrowIfCancellationRequested();
            string user = $"bench-{client}-{next++}";
            using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Body(user)));
            content.Headers.ContentType = JsonType;
            long t0 = Stopwatch.GetTimestamp();
            try
            {
                using var response = await _http.PostAsync(_chat, content, ct);
                byte[] body = await response.Content.ReadAsByteArrayAsync(ct);
                double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
                if ((int)response.StatusCode != 200)
                {
                    Count(result, $"HTTP {(int)response.StatusCode}");
                    continue;
                }
                var (memory, saved) = ReadReply(body);
                result.Answered++;
                result.LatenciesMs.Add(ms);
                result.MemoryStatus[memory] = result.MemoryStatus.GetValueOrDefault(memory) + 1;
                if (saved)
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
            catch (TaskCanceledException) when (!ct.IsCancellationRequested)
            {
                Count(result, "client timeout (30 s)");
            }
        }
        return (result, next);
    }

    private static void Count(LoadResult result, string kind)
    {
        result.Errors++;
        result.ErrorKinds[kind] = result.ErrorKinds.GetValueOrDefault(kind) + 1;
    }

    /// <summary>The reply's <c>memory</c> ("ok", "timeout", "unavailable") and <c>memorySaved</c>.</summary>
    private static (string Memory, bool Saved) ReadReply(byte[] body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            string memory = root.TryGetProperty("memory", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? "?" : "?";
            bool saved = root.TryGetProperty("memorySaved", out var s) && s.ValueKind == JsonValueKind.True;
            return (memory, saved);
        }
        catch (JsonException)
        {
            return ("unreadable", false);
        }
    }

    public void Dispose() => _http.Dispose();
}
