using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using SupportAgent.Functions.Conversation;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// One exchange to remember, as it travels on the memory-writes queue (Base64 JSON, version 1).
/// It carries only the new exchange: the user turns since the last assistant turn plus the reply.
/// An exchange too large for one queue message travels in a blob instead, named by <see cref="PayloadBlob"/>.
/// <see cref="TraceParent"/>/<see cref="TraceState"/> carry the chat's W3C trace context (storage queues have none of
/// their own) so the write joins the chat's trace; both are optional, so messages without them (older ones, or from
/// another producer) are read as before, and a reader that predates them ignores them.
/// </summary>
public sealed record MemoryWriteMessage(
    [property: JsonPropertyName("v")] int Version,
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("userId")] string UserId,
    [property: JsonPropertyName("createdAt")] DateTimeOffset CreatedAt,
    [property: JsonPropertyName("messages")] IReadOnlyList<ChatTurn>? Messages,
    [property: JsonPropertyName("payloadBlob")] string? PayloadBlob = null,
    [property: JsonPropertyName("traceparent")] string? TraceParent = null,
    [property: JsonPropertyName("tracestate")] string? TraceState = null)
{
    public const int CurrentVersion = 1;

    /// <summary>Queue messages are at most 64 KiB after Base64 (4 bytes per 3): the JSON must fit in 48 KiB.</summary>
    public const int MaxInlineJsonBytes = 64 * 1024 / 4 * 3;

    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, MemoryJsonContext.Default.MemoryWriteMessage);

    /// <summary>Reads a queue message; false (with a reason free of message content) when it is not one we can process.</summary>
    public static bool TryParse(string text, [NotNullWhen(true)] out MemoryWriteMessage? message, out string reason)
    {
        message = null;
        try
        {
            message = JsonSerializer.Deserialize(text, MemoryJsonContext.Default.MemoryWriteMessage);
        }
        catch (JsonException ex)
        {
            reason = $"not valid JSON (line {ex.LineNumber}, position {ex.BytePositionInLine})";
            return false;
        }

        reason = message switch
        {
            null => "empty",
            { Version: not CurrentVersion } => $"unknown version {message.Version}",
            { Id: null or "" } => "no id",
            { UserId: null or "" } => "no userId",
            { Messages: null or [], PayloadBlob: null or "" } => "no messages and no payload blob",
            _ => "",
        };
        if (reason.Length > 0 || message is null)
        {
            message = null;
            return false;
        }
        return true;
    }
}

/// <summary>The blob body of an exchange too large for one queue message.</summary>
public sealed record MemoryWritePayload([property: JsonPropertyName("messages")] IReadOnlyList<ChatTurn> Messages);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MemoryWriteMessage))]
[JsonSerializable(typeof(MemoryWritePayload))]
internal sealed partial class MemoryJsonContext : JsonSerializerContext;
