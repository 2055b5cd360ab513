using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Memory;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// One chat turn: recall the user's memories, ask the model, queue the new exchange for memory, reply.
/// Memory never blocks or breaks a reply: recall has a time budget and queueing failures only cost the memory.
/// </summary>
public sealed partial class ChatService(
    MemoryRecall recall,
    SystemPrompt systemPrompt,
    IChatClient model,
    MemoryWriteQueue queue,
    TimeProvider timeProvider,
    ILogger<ChatService> logger)
{
    // How long queueing may take once the reply exists; not tied to the client's connection, so an exchange the
    // model already answered is still remembered when the client hangs up.
    private static readonly TimeSpan EnqueueTimeout = TimeSpan.FromSeconds(15);

    public async Task<ChatResponse> ReplyAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var memories = await recall.RecallAsync(request.UserId, request.LastUserMessage, cancellationToken);
        var response = await model.GetResponseAsync(ModelMessages(systemPrompt.Build(memories), request.Messages), cancellationToken: cancellationToken);
        string reply = response.Text;

        var exchange = new List<ChatTurn>(request.NewUserTurns) { new(ChatTurn.Assistant, reply) };
        var message = new MemoryWriteMessage(MemoryWriteMessage.CurrentVersion, Guid.NewGuid().ToString("N"), request.UserId,
            timeProvider.GetUtcNow(), exchange);
        bool saved = await TryEnqueueAsync(message);

        return new ChatResponse(reply, memories.Facts.Count, StatusName(memories.Status), saved, message.Id);
    }

    /// <summary>The app's system prompt, then the conversation; a client can only send user and assistant turns.</summary>
    internal static List<ChatMessage> ModelMessages(string systemPrompt, IReadOnlyList<ChatTurn> conversation)
    {
        var messages = new List<ChatMessage>(conversation.Count + 1) { new(ChatRole.System, systemPrompt) };
        foreach (var turn in conversation)
        {
            messages.Add(new ChatMessage(turn.Role == ChatTurn.Assistant ? ChatRole.Assistant : ChatRole.User, turn.Content));
        }
        return messages;
    }

    private async Task<bool> TryEnqueueAsync(MemoryWriteMessage message)
    {
        using var timeout = new CancellationTokenSource(EnqueueTimeout, timeProvider);
        try
        {
            var sent = await queue.EnqueueAsync(message, timeout.Token);
            if (logger.IsEnabled(LogLevel.Debug))
            {
                LogQueued(logger, message.Id, UserRef.For(message.UserId), message.Messages!.Count, sent.PayloadBlob is not null);
            }
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogQueueFailed(logger, ex, message.Id, UserRef.For(message.UserId), queue.QueueName);
            return false;
        }
    }

    internal static string StatusName(MemoryStatus status) => status switch
    {
        MemoryStatus.Ok => "ok",
        MemoryStatus.TimedOut => "timeout",
        _ => "unavailable",
    };

    [LoggerMessage(Level = LogLevel.Debug, Message = "Exchange {ExchangeId} of {UserRef} queued for memory ({TurnCount} turns, in blob: {InBlob})")]
    private static partial void LogQueued(ILogger logger, string exchangeId, string userRef, int turnCount, bool inBlob);

    [LoggerMessage(Level = LogLevel.Error, Message = "Exchange {ExchangeId} of {UserRef} could not be queued on {Queue}; the reply was sent but this exchange will not be remembered")]
    private static partial void LogQueueFailed(ILogger logger, Exception exception, string exchangeId, string userRef, string queue);
}
