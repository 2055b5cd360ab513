using System.Text.Json;
using System.Text.Json.Serialization;
using SupportAgent.Functions.Conversation;

namespace SupportAgent.Functions.Memory.Mem0;

// Request bodies, exactly as each API documents them (snake_case, top_k rather than limit).

internal sealed record UserFilter([property: JsonPropertyName("user_id")] string UserId);

internal sealed record PlatformSearchBody(
    [property: JsonPropertyName("query")] string Query,
    [property: JsonPropertyName("filters")] UserFilter Filters,
    [property: JsonPropertyName("top_k")] int TopK,
    [property: JsonPropertyName("rerank")] bool Rerank);

internal sealed record ServerSearchBody(
    [property: JsonPropertyName("query")] string Query,
    [property: JsonPropertyName("filters")] UserFilter Filters,
    [property: JsonPropertyName("top_k")] int TopK);

/// <summary><c>timestamp</c> (Unix seconds, when it was said) is the Platform's; the server's add has no such field and gets null (not sent).</summary>
internal sealed record AddBody(
    [property: JsonPropertyName("messages")] IReadOnlyList<ChatTurn> Messages,
    [property: JsonPropertyName("user_id")] string UserId,
    [property: JsonPropertyName("metadata")] IReadOnlyDictionary<string, string> Metadata,
    [property: JsonPropertyName("timestamp")] long? Timestamp = null);

internal sealed record PlatformListBody([property: JsonPropertyName("filters")] UserFilter Filters);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PlatformSearchBody))]
[JsonSerializable(typeof(ServerSearchBody))]
[JsonSerializable(typeof(AddBody))]
[JsonSerializable(typeof(PlatformListBody))]
internal sealed partial class Mem0JsonContext : JsonSerializerContext;

/// <summary>Reads memories from every documented response shape: a bare array, <c>{results:[…]}</c>, or a page envelope.</summary>
internal static class Mem0Results
{
    public static List<MemoryItem> Read(JsonElement root)
    {
        var items = new List<MemoryItem>();
        var array = root.ValueKind switch
        {
            JsonValueKind.Array => root,
            JsonValueKind.Object when root.TryGetProperty("results", out var results) && results.ValueKind == JsonValueKind.Array => results,
            JsonValueKind.Object when root.TryGetProperty("memories", out var memories) && memories.ValueKind == JsonValueKind.Array => memories,
            _ => default,
        };
        if (array.ValueKind != JsonValueKind.Array)
        {
            return items;
        }
        foreach (var element in array.EnumerateArray())
        {
            if (element.ValueKind == JsonValueKind.Object && ReadItem(element) is { } item)
            {
                items.Add(item);
            }
        }
        return items;
    }

    /// <summary>The "next" page link of a <c>{count,next,previous,results}</c> envelope, if any.</summary>
    public static string? NextPage(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("next", out var next) && next.ValueKind == JsonValueKind.String
            ? next.GetString()
            : null;

    /// <summary>Whether a memory object (from GET one memory) names this user as its owner.</summary>
    public static bool BelongsTo(JsonElement memory, string userId) =>
        memory.ValueKind == JsonValueKind.Object && string.Equals(StringProperty(memory, "user_id"), userId, StringComparison.Ordinal);

    private static MemoryItem? ReadItem(JsonElement element)
    {
        string? text = StringProperty(element, "memory");
        if (text is null && element.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object)
        {
            text = StringProperty(data, "memory"); // v1 synchronous add shape: {"id", "data": {"memory"}, "event"}
        }
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        string id = StringProperty(element, "id") ?? "";
        double? score = element.TryGetProperty("score", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetDouble() : null;
        string? exchangeId = element.TryGetProperty("metadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object
            ? StringProperty(metadata, "exchange_id")
            : null;
        return new MemoryItem(id, text, score, TimeProperty(element, "created_at")) { UpdatedAt = TimeProperty(element, "updated_at"), ExchangeId = exchangeId };
    }

    /// <summary>An ISO 8601 time (Mem0 writes them with or without an offset; without one it is UTC); null when absent or unreadable.</summary>
    private static DateTimeOffset? TimeProperty(JsonElement element, string name) =>
        DateTimeOffset.TryParse(StringProperty(element, name), System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    private static string? StringProperty(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
