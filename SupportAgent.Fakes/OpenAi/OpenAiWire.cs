using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SupportAgent.Fakes;

// The chat.completion wire format (OpenAI and Azure OpenAI answer alike), snake_case as on the wire.

internal sealed record ChatCompletion(
    string Id,
    string Object,
    long Created,
    string Model,
    IReadOnlyList<ChatCompletionChoice> Choices,
    ChatCompletionUsage Usage,
    string SystemFingerprint);

internal sealed record ChatCompletionChoice(int Index, ChatCompletionMessage Message, string FinishReason);

internal sealed record ChatCompletionMessage(string Role, string Content);

internal sealed record ChatCompletionUsage(int PromptTokens, int CompletionTokens, int TotalTokens);

/// <summary>One server-sent event of a streamed completion (<c>"stream": true</c>).</summary>
internal sealed record ChatCompletionChunk(
    string Id,
    string Object,
    long Created,
    string Model,
    IReadOnlyList<ChatCompletionChunkChoice> Choices,
    ChatCompletionUsage? Usage);

internal sealed record ChatCompletionChunkChoice(int Index, ChatCompletionDelta Delta, string? FinishReason);

internal sealed record ChatCompletionDelta(string? Role, string? Content);

/// <summary>OpenAI's error envelope: <c>{"error":{"message","type","param","code"}}</c>.</summary>
internal sealed record OpenAiErrorBody(OpenAiError Error);

internal sealed record OpenAiError(string Message, string Type, string? Param, string? Code);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatCompletion))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(OpenAiErrorBody))]
internal sealed partial class OpenAiWireJson : JsonSerializerContext
{
    /// <summary>Same contract, written without escaping quotes, '+' or '&amp;' as \uXXXX, so curl output stays readable.</summary>
    public static OpenAiWireJson Relaxed { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
