using System.Text.Json.Serialization;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Memory;

namespace SupportAgent.Functions.Chat;

/// <summary>A request that passed validation.</summary>
public sealed record ChatRequest(string UserId, IReadOnlyList<ChatTurn> Messages)
{
    /// <summary>Sent in the Vercel AI SDK's shape (messages with parts, or a trigger): such a client reads a stream.</summary>
    public bool UiMessages { get; init; }

    /// <summary>When the service received the request; the date of the exchange it queues for memory.</summary>
    public DateTimeOffset? ReceivedAt { get; init; }

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

/// <summary>
/// The 200 response body. <c>message</c> is what the tutorial's frontend reads; the rest is extra: what memory did, the
/// exchange's id, and the tokens the model reported (null when it reported none).
/// </summary>
public sealed record ChatReply(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("memoriesUsed")] int MemoriesUsed,
    [property: JsonPropertyName("memory")] string Memory,
    [property: JsonPropertyName("memorySaved")] MemorySaveState MemorySaved,
    [property: JsonPropertyName("exchangeId")] string ExchangeId,
    [property: JsonPropertyName("usage")] TokenUsage? Usage = null);
