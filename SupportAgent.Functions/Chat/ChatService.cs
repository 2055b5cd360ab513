using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Limits;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// One chat turn: recall the user's memories, stream the model's reply, queue the new exchange for memory. The turn is
/// one sequence of <see cref="ChatTurnEvent"/>s that owns its whole lifetime: its span and count, and what is queued
/// however it ends. Memory never blocks or breaks a reply: recall has a time budget and queueing failures only cost the
/// memory. A caller that stops reading before the end (the client hung up) cancels the model call, and the user's own
/// turns are still queued, so what the user said is remembered; after a model failure nothing is queued (the client was
/// told and can retry).
/// </summary>
public sealed partial class ChatService(
    MemoryRecall recall,
    MemoryShare memoryShare,
    SystemPrompt systemPrompt,
    IChatClient model,
    MemoryWriteQueue queue,
    UserLimiter limiter,
    PendingMemoryWrites pendingWrites,
    SupportAgentMetrics metrics,
    TimeProvider timeProvider,
    ILogger<ChatService> logger)
{
    // How long queueing may take once the reply exists; not tied to the client's connection, so an exchange the
    // model already answered is still remembered when the client hangs up.
    private static readonly TimeSpan EnqueueTimeout = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How long the reply waits for its enqueue (normally tens of milliseconds). When storage is slower the reply goes
    /// out saying "pending" and the enqueue finishes in the background (<see cref="PendingMemoryWrites"/>).
    /// </summary>
    internal static readonly TimeSpan EnqueueReplyBudget = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The turn's events. Everything up to the model's first text happens within the first event's read, so a failure
    /// there (a <see cref="ModelException"/>) reaches the caller before anything was sent and can still be an HTTP status.
    /// One span ("chat turn") parents the memory search, the model call and the enqueue.
    /// </summary>
    public async IAsyncEnumerable<ChatTurnEvent> RunAsync(ChatRequest request, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        request = Received(request);
        string exchangeId = Guid.NewGuid().ToString("N");
        var turn = ChatTurnTelemetry.Start(metrics, exchangeId, request);
        var reply = new StringBuilder();
        Exception? failure = null; // on its way to the caller: an iterator cannot catch around a yield, so it is noted here
        bool completed = false;
        ModelStream? stream = null;

        async Task<T> Watch<T>(Task<T> task)
        {
            try
            {
                return await task;
            }
            catch (Exception ex)
            {
                failure = ex;
                throw;
            }
        }

        try
        {
            // Recall, the model call and its first text all run while this turn's span is the current one.
            // Sized to their share of the prompt budget: a long memory must not push the conversation out.
            var memories = memoryShare.Fit(await Watch(AdmittedRecallAsync(request, cancellationToken)));
            turn.Recalled(memories);
            stream = await Watch(ModelStream.StartAsync(model, () => ModelMessages(systemPrompt.Build(memories), request.Messages), cancellationToken));

            yield return new MemoriesRecalled(exchangeId, memories.Facts.Count, memories.Status.Name());
            for (string? text = stream.First; text is not null; text = await Watch(stream.NextTextAsync()))
            {
                reply.Append(text);
                yield return new ReplyDelta(text);
            }

            MemorySaveState saved;
            using (turn.AsCurrent()) // after a yield the caller's context is current again; the enqueue belongs to this turn
            {
                var counted = limiter.RecordUsageAsync(request.UserId, TokenUsage.From(stream.Usage) is { } used ? used.InputTokens + used.OutputTokens : 0);
                saved = await QueueAsync(request, exchangeId, reply.ToString());
                await counted; // overlapped with the enqueue; never throws
            }
            completed = true;
            turn.Succeeded();
            yield return new TurnCompleted(FinishReasons.From(stream.Finish), TokenUsage.From(stream.Usage), saved);
        }
        finally
        {
            if (stream is not null)
            {
                await stream.DisposeAsync(); // ends the model's HTTP response, if still open
            }
            if (!completed)
            {
                // No failure noted: the caller stopped reading at a yield.
                await EndUnfinishedAsync(request, exchangeId, turn, failure, reply.Length, cancellationToken);
            }
        }
    }

    /// <summary>
    /// A turn that did not complete: the model failed (nothing queued: the client is told and can retry), or the caller
    /// cancelled or stopped reading (the client hung up: its own turns are queued without the unfinished reply, since a
    /// half answer nobody read is not worth remembering and what the user said is).
    /// </summary>
    private async Task EndUnfinishedAsync(ChatRequest request, string exchangeId, ChatTurnTelemetry turn, Exception? failure, int replyCharacters, CancellationToken cancellationToken)
    {
        bool callerGone = failure is null || (failure is OperationCanceledException && cancellationToken.IsCancellationRequested);
        if (callerGone)
        {
            LogClientGone(logger, exchangeId, UserRef.For(request.UserId), replyCharacters);
            using (turn.AsCurrent())
            {
                await TryEnqueueAsync(new MemoryWriteMessage(MemoryWriteMessage.CurrentVersion, exchangeId, request.UserId, request.ReceivedAt!.Value,
                    request.NewUserTurns));
            }
        }
        turn.Failed(failure ?? new OperationCanceledException(), callerGone ? new CancellationToken(canceled: true) : cancellationToken);
    }

    /// <summary>The model's streamed reply, read up to its first text when started; notes the finish reason and usage as they pass.</summary>
    private sealed class ModelStream(IAsyncEnumerator<ChatResponseUpdate> updates) : IAsyncDisposable
    {
        public string? First { get; private set; }

        public ChatFinishReason? Finish { get; private set; }

        public UsageDetails? Usage { get; private set; }

        /// <summary>Starts the call; the prompt is built here so that anything failing on the way reaches the caller as this task's failure.</summary>
        public static async Task<ModelStream> StartAsync(IChatClient model, Func<List<ChatMessage>> messages, CancellationToken cancellationToken)
        {
            var stream = new ModelStream(model.GetStreamingResponseAsync(messages(), cancellationToken: cancellationToken).GetAsyncEnumerator(cancellationToken));
            try
            {
                stream.First = await stream.NextTextAsync();
                return stream;
            }
            catch
            {
                await stream.DisposeAsync();
                throw;
            }
        }

        /// <summary>The next non-empty text, or null at the end of the reply.</summary>
        public async Task<string?> NextTextAsync()
        {
            while (await updates.MoveNextAsync())
            {
                var update = updates.Current;
                Finish ??= update.FinishReason;
                foreach (var content in update.Contents)
                {
                    if (content is UsageContent usage)
                    {
                        Usage = usage.Details;
                    }
                }
                if (update.Text is { Length: > 0 } text)
                {
                    return text;
                }
            }
            return null;
        }

        public ValueTask DisposeAsync() => updates.DisposeAsync();
    }

    /// <summary>
    /// The user's limits checked, and their memories recalled. The count is written while the memory search runs, when
    /// this instance's view of the user has room; when it has none, the refusal is awaited first, so a refused request
    /// searches nothing. A refusal cancels a search already started and drops what it found: nothing of a refused request
    /// reaches the model or the queue (<see cref="LimitExceededException"/>, before the first event).
    /// </summary>
    private async Task<RecalledMemories> AdmittedRecallAsync(ChatRequest request, CancellationToken cancellationToken)
    {
        var limit = limiter.Check(request.UserId, cancellationToken);
        if (!limit.MayOverlap)
        {
            await limit.Decision;
        }
        using var searchCancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var search = recall.RecallAsync(request.UserId, request.LastUserMessage, searchCancel.Token);
        try
        {
            await limit.Decision;
        }
        catch
        {
            await searchCancel.CancelAsync();
            try
            {
                await search;
            }
            catch (OperationCanceledException)
            {
                // dropped with the request
            }
            throw;
        }
        return await search;
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
    private Task<MemorySaveState> QueueAsync(ChatRequest request, string exchangeId, string reply) =>
        EnqueueWithinBudgetAsync(new MemoryWriteMessage(MemoryWriteMessage.CurrentVersion, exchangeId, request.UserId, request.ReceivedAt!.Value,
            [.. request.NewUserTurns, new ChatTurn(ChatTurn.Assistant, reply)]));

    /// <summary>Waits for the enqueue at most <see cref="EnqueueReplyBudget"/>; a slower one goes on in the background.</summary>
    private async Task<MemorySaveState> EnqueueWithinBudgetAsync(MemoryWriteMessage message)
    {
        var enqueue = TryEnqueueAsync(message);
        if (!enqueue.IsCompleted)
        {
            using var budget = new CancellationTokenSource();
            var expired = Task.Delay(EnqueueReplyBudget, timeProvider, budget.Token);
            if (await Task.WhenAny(enqueue, expired) != enqueue)
            {
                pendingWrites.Track(enqueue);
                LogQueuePending(logger, message.Id, UserRef.For(message.UserId), EnqueueReplyBudget.TotalMilliseconds);
                return MemorySaveState.Pending;
            }
            await budget.CancelAsync();
        }
        return await enqueue ? MemorySaveState.Saved : MemorySaveState.NotSaved;
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
        catch (Exception ex) when (Storage.StorageReachability.IsTransient(ex))
        {
            // An outage or throttling: StorageReachability has said so once; a stack trace per chat would add nothing.
            LogQueueUnavailable(logger, message.Id, UserRef.For(message.UserId), queue.QueueName, (ex as Azure.RequestFailedException)?.Status ?? 0);
            return false;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogQueueFailed(logger, ex, message.Id, UserRef.For(message.UserId), queue.QueueName);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Exchange {ExchangeId} of {UserRef}: storage took longer than {BudgetMs} ms to queue it; the reply says \"pending\" and the enqueue goes on in the background")]
    private static partial void LogQueuePending(ILogger logger, string exchangeId, string userRef, double budgetMs);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Exchange {ExchangeId} of {UserRef} queued for memory ({TurnCount} turns, in blob: {InBlob})")]
    private static partial void LogQueued(ILogger logger, string exchangeId, string userRef, int turnCount, bool inBlob);

    [LoggerMessage(Level = LogLevel.Error, Message = "Exchange {ExchangeId} of {UserRef} could not be queued on {Queue}: storage is unavailable (HTTP {Status}); the reply was sent but this exchange will not be remembered")]
    private static partial void LogQueueUnavailable(ILogger logger, string exchangeId, string userRef, string queue, int status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Exchange {ExchangeId} of {UserRef} could not be queued on {Queue}; the reply was sent but this exchange will not be remembered")]
    private static partial void LogQueueFailed(ILogger logger, Exception exception, string exchangeId, string userRef, string queue);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client of exchange {ExchangeId} ({UserRef}) hung up after {ReplyCharacters} reply characters; model call cancelled, the user's turn is queued without the reply")]
    private static partial void LogClientGone(ILogger logger, string exchangeId, string userRef, int replyCharacters);
}
