using System.Text.Json.Serialization;

namespace SupportAgent.Functions.Chat;

/// <summary>One turn of the conversation, as the tutorial's frontend sends it.</summary>
public sealed record ChatTurn(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content)
{
    public const string User = "user";
    public const string Assistant = "assistant";
}

/// <summary>A request that passed validation.</summary>
public sealed record ChatRequest(string UserId, IReadOnlyList<ChatTurn> Messages)
{
    public string LastUserMessage => Messages[^1].Content;

    /// <summary>The user turns since the last assistant turn: what is new in this request (the client re-sends the history).</summary>
    public IReadOnlyList<ChatTurn> NewUserTurns
    {
        get
        {
            int start = Messages.Count;
            while (start > 0 && Messages[start - 1].Role == ChatTurn.User)
            {
                start--;
            }
            return Messages.Skip(start).ToArray();
        }
    }
}

/// <summary>How memory took part in a reply; sent to the client so a frontend can show it.</summary>
public enum MemoryStatus
{
    /// <summary>Memories were searched (zero or more found).</summary>
    Ok,

    /// <summary>Mem0 failed; the reply was made without memories.</summary>
    Unavailable,

    /// <summary>Mem0 did not answer within the time budget; the reply was made without memories.</summary>
    TimedOut,
}

/// <summary>The 200 response body. <c>message</c> is what the tutorial's frontend reads; the rest is extra.</summary>
public sealed record ChatResponse(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("memoriesUsed")] int MemoriesUsed,
    [property: JsonPropertyName("memory")] string Memory,
    [property: JsonPropertyName("memorySaved")] bool MemorySaved,
    [property: JsonPropertyName("exchangeId")] string ExchangeId);
