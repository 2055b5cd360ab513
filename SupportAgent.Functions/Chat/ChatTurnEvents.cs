using System.Text;
using System.Text.Json.Serialization;
using Microsoft.Extensions.AI;
using SupportAgent.Functions.Memory;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// What one chat turn produces, in order: <see cref="MemoriesRecalled"/> once, <see cref="ReplyDelta"/> for each piece
/// of the reply as the model writes it, then <see cref="TurnCompleted"/> once the exchange has been queued for memory.
/// A streamed reply writes each event as it comes; a JSON reply is the same events gathered (<see cref="ChatTurnEvents.ToReplyAsync"/>).
/// </summary>
public abstract record ChatTurnEvent;

/// <summary>What memory did for this turn, known before the model writes anything.</summary>
public sealed record MemoriesRecalled(string ExchangeId, int MemoriesUsed, string Memory) : ChatTurnEvent;

/// <summary>The next piece of the reply's text (never empty).</summary>
public sealed record ReplyDelta(string Text) : ChatTurnEvent;

/// <summary>
/// The reply is complete: why the model stopped (<see cref="FinishReasons"/>), the token usage it reported, and whether
/// the exchange was queued for memory.
/// </summary>
public sealed record TurnCompleted(string FinishReason, TokenUsage? Usage, MemorySaveState MemorySaved) : ChatTurnEvent;

/// <summary>The tokens the model reported for one reply: what it read (the prompt) and what it wrote.</summary>
public sealed record TokenUsage(
    [property: JsonPropertyName("inputTokens")] long InputTokens,
    [property: JsonPropertyName("outputTokens")] long OutputTokens)
{
    public static TokenUsage? From(UsageDetails? usage) =>
        usage is { InputTokenCount: { } input, OutputTokenCount: { } output } ? new TokenUsage(input, output) : null;
}

/// <summary>The AI SDK's finish reasons (its <c>finish</c> event), from the model's own.</summary>
public static class FinishReasons
{
    public const string Stop = "stop";
    public const string Length = "length";
    public const string ContentFilter = "content-filter";
    public const string ToolCalls = "tool-calls";
    public const string Error = "error";
    public const string Other = "other";

    public static string From(ChatFinishReason? reason) =>
        reason is null || reason == ChatFinishReason.Stop ? Stop
        : reason == ChatFinishReason.Length ? Length
        : reason == ChatFinishReason.ContentFilter ? ContentFilter
        : reason == ChatFinishReason.ToolCalls ? ToolCalls
        : Other;
}

public static class ChatTurnEvents
{
    /// <summary>The whole turn as one JSON reply: the text pieces joined, the memory fields from the first and last events.</summary>
    public static async Task<ChatReply> ToReplyAsync(this IAsyncEnumerable<ChatTurnEvent> turn, CancellationToken cancellationToken = default)
    {
        MemoriesRecalled? recalled = null;
        TurnCompleted? completed = null;
        var text = new StringBuilder();
        await foreach (var e in turn.WithCancellation(cancellationToken))
        {
            switch (e)
            {
                case MemoriesRecalled r:
                    recalled = r;
                    break;
                case ReplyDelta d:
                    text.Append(d.Text);
                    break;
                case TurnCompleted c:
                    completed = c;
                    break;
            }
        }
        if (recalled is null || completed is null)
        {
            throw new InvalidOperationException("A chat turn ended without recalling memories or completing.");
        }
        return new ChatReply(text.ToString(), recalled.MemoriesUsed, recalled.Memory, completed.MemorySaved, recalled.ExchangeId, completed.Usage);
    }
}
