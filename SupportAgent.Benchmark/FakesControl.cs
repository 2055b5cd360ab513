using System.Net.Http.Json;
using System.Text.Json;
using SupportAgent.Fakes;

namespace SupportAgent.Benchmark;

/// <summary>The fakes' control surface (<c>/_fake/config</c>, <c>/_fake/stats</c>, <c>/_fake/reset</c>), typed by the fakes' own contracts.</summary>
internal sealed class FakesControl(HttpClient http, Uri openAi, Uri mem0)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public Uri OpenAi { get; } = openAi;

    public Uri Mem0 { get; } = mem0;

    /// <summary>Sets every latency (<paramref name="modelMs"/> is a stream's first token, <paramref name="streamMs"/> the rest) and clears every fault.</summary>
    public async Task ConfigureAsync(int modelMs, int searchMs, int addMs, CancellationToken ct, int streamMs = 0)
    {
        await PostAsync(new Uri(OpenAi, "_fake/config"), new OpenAiConfigRequest(LatencyMs: modelMs, ClearFaults: true, StreamMs: streamMs), ct);
        await PostAsync(new Uri(Mem0, "_fake/config"), new Mem0ConfigRequest(
            LatencyMs: new Dictionary<string, int> { ["search"] = searchMs, ["add"] = addMs, ["other"] = 0 },
            ClearFaults: true), ct);
    }

    /// <summary>Mem0 add answers <paramref name="status"/> for the given time from now.</summary>
    public Task FailAddsForAsync(int status, TimeSpan window, CancellationToken ct) =>
        PostAsync(new Uri(Mem0, "_fake/config"), new Mem0ConfigRequest(
            Faults: [new FaultConfig(Operation: "add", Kind: "respond", Status: status, ForMs: (int)window.TotalMilliseconds)]), ct);

    /// <summary>Forgets counters, memories and faults on both fakes; latencies stay.</summary>
    public async Task ResetAsync(CancellationToken ct)
    {
        using var a = await http.PostAsync(new Uri(OpenAi, "_fake/reset"), null, ct);
        a.EnsureSuccessStatusCode();
        using var b = await http.PostAsync(new Uri(Mem0, "_fake/reset"), null, ct);
        b.EnsureSuccessStatusCode();
    }

    public async Task<OpenAiStats> OpenAiStatsAsync(CancellationToken ct) =>
        await http.GetFromJsonAsync<OpenAiStats>(new Uri(OpenAi, "_fake/stats"), Json, ct)
        ?? throw new InvalidDataException("The OpenAI fake returned no stats.");

    public async Task<Mem0Stats> Mem0StatsAsync(bool users, CancellationToken ct) =>
        await http.GetFromJsonAsync<Mem0Stats>(new Uri(Mem0, users ? "_fake/stats?users=1" : "_fake/stats"), Json, ct)
        ?? throw new InvalidDataException("The Mem0 fake returned no stats.");

    private async Task PostAsync<T>(Uri uri, T body, CancellationToken ct)
    {
        using var response = await http.PostAsJsonAsync(uri, body, Json, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"POST {uri} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
        }
    }
}

internal static class StatsExtensions
{
    public static int Count(this Mem0Stats stats, string operation) => stats.Requests.TryGetValue(operation, out int n) ? n : 0;

    public static int Chats(this OpenAiStats stats) => stats.Requests.TryGetValue("chat", out int n) ? n : 0;
}
