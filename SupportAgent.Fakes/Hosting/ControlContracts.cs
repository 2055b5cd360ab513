using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SupportAgent.Fakes;

// The /_fake/* control surface, for driving a fake from another process (benchmark, demo). camelCase JSON.

/// <summary>
/// One fault plan. <c>kind</c>: "respond" (default), "hang", "disconnect" or "clear". With <c>count</c> it fails the
/// next N requests; with <c>forMs</c> it fails for that long; with neither, until cleared. <c>operation</c> is for the
/// Mem0 fake only: search, add, list, get, delete, deleteAll, ping, other (all but search/add) or all.
/// </summary>
public sealed record FaultConfig(
    string? Operation = null,
    string? Kind = null,
    int? Status = null,
    int? Count = null,
    int? ForMs = null,
    double? RetryAfterSeconds = null,
    string? Body = null)
{
    internal void ApplyTo(FaultInjector injector)
    {
        string kind = (Kind ?? "respond").Trim().ToLowerInvariant();
        if (kind == "clear" || (kind == "respond" && Status == 0))
        {
            injector.Clear();
            return;
        }
        var fault = kind switch
        {
            "hang" => FakeFault.Hang(),
            "disconnect" => FakeFault.Disconnect,
            "respond" => new FakeFault
            {
                Status = Status ?? 500,
                RetryAfter = RetryAfterSeconds is { } s ? TimeSpan.FromSeconds(s) : null,
                Body = Body,
            },
            _ => throw new ArgumentException($"Unknown fault kind '{Kind}'; use respond, hang, disconnect or clear."),
        };
        if (Count is > 0)
        {
            injector.FailNext(Count.Value, fault);
        }
        else if (ForMs is > 0)
        {
            injector.FailFor(TimeSpan.FromMilliseconds(ForMs.Value), fault);
        }
        else
        {
            injector.FailAlways(fault);
        }
    }
}

/// <summary>
/// Body of <c>POST /_fake/config</c> on the OpenAI fake. Absent fields are left as they are. <c>latencyMs</c>: time before
/// the answer starts (a stream's time to first token); <c>streamMs</c>: streams only, from the first content chunk to the last.
/// </summary>
public sealed record OpenAiConfigRequest(int? LatencyMs = null, FaultConfig? Fault = null, bool? ClearFaults = null, int? StreamMs = null, int? ContextTokens = null);

/// <summary>
/// Body of <c>POST /_fake/config</c> on the Mem0 fake. <c>latencyMs</c> keys: search, add, list, get, delete,
/// deleteAll, ping, other (all but search/add), all. Absent fields are left as they are.
/// </summary>
public sealed record Mem0ConfigRequest(
    Dictionary<string, int>? LatencyMs = null,
    int? ProcessingDelayMs = null,
    List<FaultConfig>? Faults = null,
    bool? ClearFaults = null,
    int? PageSizeLimit = null);

public sealed record OpenAiStats(
    [property: JsonPropertyName("requests")] IReadOnlyDictionary<string, int> Requests,
    [property: JsonPropertyName("faultsInjected")] int FaultsInjected,
    [property: JsonPropertyName("latencyMs")] double LatencyMs);

public sealed record Mem0Stats(
    [property: JsonPropertyName("flavor")] string Flavor,
    [property: JsonPropertyName("requests")] IReadOnlyDictionary<string, int> Requests,
    [property: JsonPropertyName("addsCompleted")] int AddsCompleted,
    [property: JsonPropertyName("memories")] int Memories,
    [property: JsonPropertyName("users")] int Users,
    [property: JsonPropertyName("wildcardUserIdRequests")] int WildcardUserIdRequests,
    [property: JsonPropertyName("unauthorized")] int Unauthorized,
    [property: JsonPropertyName("faultsInjected")] int FaultsInjected,
    [property: JsonPropertyName("latencyMs")] IReadOnlyDictionary<string, double> LatencyMs,
    [property: JsonPropertyName("addsByUser")] IReadOnlyDictionary<string, int>? AddsByUser);

internal sealed record ControlOk([property: JsonPropertyName("ok")] bool Ok, [property: JsonPropertyName("error")] string? Error = null);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    PropertyNameCaseInsensitive = true)]
[JsonSerializable(typeof(OpenAiConfigRequest))]
[JsonSerializable(typeof(Mem0ConfigRequest))]
[JsonSerializable(typeof(OpenAiStats))]
[JsonSerializable(typeof(Mem0Stats))]
[JsonSerializable(typeof(ControlOk))]
[JsonSerializable(typeof(string))]
internal sealed partial class ControlJson : JsonSerializerContext
{
    /// <summary>Same contract, written without escaping quotes, '+' or '&amp;' as \uXXXX, so curl output stays readable.</summary>
    public static ControlJson Relaxed { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        PropertyNameCaseInsensitive = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
