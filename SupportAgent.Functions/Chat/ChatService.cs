using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// One chat turn: recall the user's memories, ask the model, queue the new exchange for memory, reply; whole, or as a
/// stream of text (<see cref="StartStreamAsync"/>). Memory never blocks or breaks a reply: recall has a time budget and
/// queueing failures only cost the memory. A client that hangs up before the reply is complete cancels the model call,
/// and its own turn is still queued, so what the user said is remembered.
/// </summary>
public sealed partial class ChatService(
    MemoryRecall recall,
    SystemPrompt systemPrompt,
    IChatClient model,
    MemoryWriteQueue queue,
    SupportAgentMetrics metrics,
    TimeProvider timeProvider,
    ILogger<ChatService> logger)
{
    // How long queueing may take once the reply exists; not tied to the client's connection, so an exchange the
    // model already answered is still remembered when the client hangs up.
    private static readonly TimeSpan EnqueueTimeout = TimeSpan.FromSeconds(15);

    /// <summary>One turn as one span ("chat turn"), parent of the memory search, the model call and the enqueue.</summary>
    public async Task<ChatResponse> ReplyAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        request = Received(request);
        string exchangeId = NewExchangeId();
        var turn = ChatTurnTelemetry.Start(metrics, exchangeId, request);
        try
        {
            var memories = await recall.RecallAsync(request.UserId, request.LastUserMessage, cancellationToken);
            turn.Recalled(memories);
            var response = await model.GetResponseAsync(ModelMessages(systemPrompt.Build(memories), request.Messages), cancellationToken: cancellationToken);
            bool saved = await QueueExchangeAsync(request, exchangeId, response.Text);
            turn.Succeeded();
            return new ChatResponse(response.Text, memories.Facts.Count, memories.Status.Name(), saved, exchangeId);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            await QueueUnansweredAsync(request, exchangeId, 0);
            turn.Failed(ex, cancellationToken);
            throw;
        }
        catch (Exception ex)
        {
            turn.Failed(ex, cancellationToken);
            throw;
        }
    }

    /// <summary>
    /// Recalls memories and starts the model's stream, returning once its first text has arrived: anything that fails
    /// before that (a <see cref="ModelException"/>) can still be answered with an HTTP error status.
    /// </summary>
    public async Task<ChatReplyStream> StartStreamAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        request = Received(request);
        string exchangeId = NewExchangeId();
        // Started here, ended by the stream when the reply is complete (or the client goes): see ChatReplyStream.
        var turn = ChatTurnTelemetry.Start(metrics, exchangeId, request);
        IAsyncEnumerator<ChatResponseUpdate>? updates = null;
        try
        {
            var memories = await recall.RecallAsync(request.UserId, request.LastUserMessage, cancellationToken);
            turn.Recalled(memories);
            updates = model.GetStreamingResponseAsync(ModelMessages(systemPrompt.Build(memories), request.Messages), cancellationToken: cancellationToken)
                .GetAsyncEnumerator(cancellationToken);
            string? first = null;
            while (first is null && await updates.MoveNextAsync())
            {
                first = string.IsNullOrEmpty(updates.Current.Text) ? null : updates.Current.Text;
            }
            // The classifier refuses a stream that ends without text, so a stream that ended here has some.
            return new ChatReplyStream(this, request, exchangeId, memories, updates, first ?? "", turn);
        }
        catch (Exception ex)
        {
            if (updates is not null)
            {
                await updates.DisposeAsync();
            }
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                await QueueUnansweredAsync(request, exchangeId, 0);
            }
            turn.Failed(ex, cancellationToken);
            throw;
        }
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

    /// <summary>
    /// Dates the exchange when the user sent it, not when the reply came: a "forget me" made while the model was still
    /// answering must forget this exchange too (the memory writer drops exchanges older than the erasure).
    /// </summary>
    private ChatRequest Received(ChatRequest request) =>
        request.ReceivedAt is null ? request with { ReceivedAt = timeProvider.GetUtcNow() } : request;

    /// <summary>The new exchange (the user turns since the last reply, then this reply) onto the memory queue.</summary>
    internal Task<bool> QueueExchangeAsync(ChatRequest request, string exchangeId, string reply) =>
        TryEnqueueAsync(new MemoryWriteMessage(MemoryWriteMessage.CurrentVersion, exchangeId, request.UserId, request.ReceivedAt ?? timeProvider.GetUtcNow(),
            [.. request.NewUserTurns, new ChatTurn(ChatTurn.Assistant, reply)]));

    /// <summary>
    /// The client hung up before the reply was complete: the user's own turns are queued without the unfinished reply
    /// (a half answer nobody read is not worth remembering; what the user said is).
    /// </summary>
    internal async Task QueueUnansweredAsync(ChatRequest request, string exchangeId, int replyCharacters)
    {
        LogClientGone(logger, exchangeId, UserRef.For(request.UserId), replyCharacters);
        await TryEnqueueAsync(new MemoryWriteMessage(MemoryWriteMessage.CurrentVersion, exchangeId, request.UserId, request.ReceivedAt ?? timeProvider.GetUtcNow(),
            request.NewUserTurns));
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

    private static string NewExchangeId() => Guid.NewGuid().ToString("N");

    [LoggerMessage(Level = LogLevel.Debug, Message = "Exchange {ExchangeId} of {UserRef} queued for memory ({TurnCount} turns, in blob: {InBlob})")]
    private static partial void LogQueued(ILogger logger, string exchangeId, string userRef, int turnCount, bool inBlob);

    [LoggerMessage(Level = LogLevel.Error, Message = "Exchange {ExchangeId} of {UserRef} could not be queued on {Queue}; the reply was sent but this exchange will not be remembered")]
    private static partial void LogQueueFailed(ILogger logger, Exception exception, string exchangeId, string userRef, string queue);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client of exchange {ExchangeId} ({UserRef}) hung up after {ReplyCharacters} reply characters; model call cancelled, the user's turn is queued without the reply")]
    private static partial void LogClientGone(ILogger logger, string exchangeId, string userRef, int replyCharacters);
}
