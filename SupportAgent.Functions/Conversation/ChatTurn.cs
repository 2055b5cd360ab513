using System.Text.Json.Serialization;

namespace SupportAgent.Functions.Conversation;

/// <summary>One turn of a conversation: what the chat request carries and what memory remembers.</summary>
public sealed record ChatTurn(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content)
{
    public const string User = "user";
    public const string Assistant = "assistant";
}
