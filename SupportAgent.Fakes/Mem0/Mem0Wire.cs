using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SupportAgent.Fakes;

// Mem0 response items, snake_case as on the wire (docs/mem0-api.md).

/// <summary>A Platform memory, as search, list and read-one return it.</summary>
internal sealed record PlatformMemoryItem(
    string Id,
    string Memory,
    string? UserId,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Score,
    JsonElement? Metadata,
    IReadOnlyList<string> Categories,
    string? ExpirationDate,
    string CreatedAt,
    string UpdatedAt);

/// <summary>A self-hosted server memory: <c>{id, memory, hash, metadata, score, user_id, created_at, updated_at}</c>.</summary>
internal sealed record ServerMemoryItem(
    string Id,
    string Memory,
    string Hash,
    JsonElement? Metadata,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] double? Score,
    string? UserId,
    string CreatedAt,
    string? UpdatedAt);

/// <summary>An older synchronous-add item shape clients still read: <c>{"id","data":{"memory"},"event":"ADD"}</c>.</summary>
internal sealed record V1DataItem(string Id, V1Data Data, string Event);

internal sealed record V1Data(string Memory);

/// <summary>An add result of the self-hosted server: <c>{"id","memory","event":"ADD"}</c>.</summary>
internal sealed record AddEventItem(string Id, string Memory, string Event);

internal sealed record ServerAddResponse(IReadOnlyList<AddEventItem> Results);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(PlatformMemoryItem))]
[JsonSerializable(typeof(ServerMemoryItem))]
[JsonSerializable(typeof(V1DataItem))]
[JsonSerializable(typeof(ServerAddResponse))]
internal sealed partial class Mem0WireJson : JsonSerializerContext
{
    /// <summary>Same contract, written without escaping quotes, '+' or '&amp;' as \uXXXX, so curl output stays readable.</summary>
    public static Mem0WireJson Relaxed { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
