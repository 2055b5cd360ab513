using System.Diagnostics;
using Azure;
using Microsoft.Extensions.Logging;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Memory;

/// <summary>A queue message that can never be processed; thrown so the runtime moves it to the poison queue intact.</summary>
public sealed class UnreadableMemoryWriteException(string reason) : Exception($"The memory write message cannot be processed: {reason}.");

/// <summary>
/// Writes one queued exchange to the memory store (built-in or Mem0) for its user. Any failure throws: the queue trigger then retries the message
/// after its visibility timeout and, after maxDequeueCount tries, moves it to the poison queue. Nothing is dropped.
/// Each delivery is one span that continues the chat's trace (the message carries its traceparent) and one count by
/// outcome; <paramref name="dequeueCount"/> (the trigger's) tells a try the queue will repeat from the last one.
/// </summary>
public sealed partial class MemoryWriter(
    IMemoryStore store,
    MemoryWriteQueue queue,
    MemoryErasures erasures,
    HostJson hostJson,
    SupportAgentMetrics metrics,
    TimeProvider timeProvider,
    ILogger<MemoryWriter> logger)
{
    public async Task WriteAsync(string queueMessage, long dequeueCount, CancellationToken cancellationToken)
    {
        bool readable = MemoryWriteMessage.TryParse(queueMessage, out var message, out string reason);
        string storeName = store.GetType().Name;
        using var activity = StartSpan(message, dequeueCount, storeName);
        try
        {
            if (!readable)
            {
                LogUnreadable(logger, reason, queueMessage.Length);
                throw new UnreadableMemoryWriteException(reason);
            }
            string outcome = await WriteAsync(message!, cancellationToken);
            activity?.SetTag(SupportAgentTelemetry.WriteOutcome, outcome);
            metrics.MemoryWriteFinished(outcome, storeName);
            if (outcome == WriteOutcomes.Written)
            {
                var lag = timeProvider.GetUtcNow() - message!.CreatedAt;
                activity?.SetTag(SupportAgentTelemetry.WriteLagSeconds, Math.Round(lag.TotalSeconds, 3));
                metrics.MemoryWritten(lag, storeName);
            }
        }
        catch (Exception ex)
        {
            // The runtime moves the message to the poison queue when the try that failed was the last one allowed.
            string outcome = dequeueCount >= hostJson.Queues.MaxDequeueCount ? WriteOutcomes.Poisoned : WriteOutcomes.Retried;
            activity?.SetTag(SupportAgentTelemetry.WriteOutcome, outcome);
            activity.Fail(ex switch
            {
                UnreadableMemoryWriteException => "unreadable",
                MemoryStoreException { IsTransient: true } => "store_transient",
                MemoryStoreException => "store_refused",
                _ => ex.GetType().Name,
            });
            metrics.MemoryWriteFinished(outcome, storeName);
            if (outcome == WriteOutcomes.Poisoned)
            {
                // Said here, by the app, so both hosts say it: the Functions host has no hook for the move itself.
                if (message is not null)
                {
                    LogPoisoned(logger, message.Id, UserRef.For(message.UserId), dequeueCount, queue.PoisonQueueName);
                }
                else
                {
                    LogUnreadablePoisoned(logger, dequeueCount, queue.PoisonQueueName);
                }
            }
            throw;
        }
    }

    /// <summary>The delivery's span: a child of the chat's send when the message carries its trace context, linked to the trigger's own.</summary>
    private Activity? StartSpan(MemoryWriteMessage? message, long dequeueCount, string storeName)
    {
        ActivityContext.TryParse(message?.TraceParent, message?.TraceState, isRemote: true, out var chat);
        var trigger = Activity.Current;
        var activity = SupportAgentTelemetry.Source.StartActivity("process " + queue.QueueName, ActivityKind.Consumer, chat,
            links: chat != default && trigger is not null ? [new ActivityLink(trigger.Context)] : null);
        if (activity is not null)
        {
            activity.SetTag(SupportAgentTelemetry.MessagingSystem, SupportAgentTelemetry.StorageQueues);
            activity.SetTag(SupportAgentTelemetry.MessagingDestination, queue.QueueName);
            activity.SetTag(SupportAgentTelemetry.MessagingOperationType, "process");
            activity.SetTag(SupportAgentTelemetry.MessagingOperationName, "process");
            activity.SetTag(SupportAgentTelemetry.DequeueCount, dequeueCount);
            activity.SetTag(SupportAgentTelemetry.MemoryStore, storeName);
            if (message is not null)
            {
                activity.SetTag(SupportAgentTelemetry.ExchangeId, message.Id);
                activity.SetTag(SupportAgentTelemetry.UserRef, UserRef.For(message.UserId));
                activity.SetTag(SupportAgentTelemetry.ClaimCheck, message.PayloadBlob is not null);
            }
        }
        return activity;
    }

    /// <summary>Writes (or drops) one readable exchange; returns the outcome, or throws for the queue to retry.</summary>
    private async Task<string> WriteAsync(MemoryWriteMessage message, CancellationToken cancellationToken)
    {
        string userRef = UserRef.For(message.UserId);
        if (await IsForgottenAsync(message, cancellationToken))
        {
            // Forgotten stays forgotten: an exchange from before the user's erasure (still queued, retried, or
            // replayed from the poison queue) is never written back. Completing the message removes it.
            LogDroppedForgotten(logger, message.Id, userRef);
            await DeletePayloadAsync(message, cancellationToken);
            return WriteOutcomes.Forgotten;
        }

        try
        {
            IReadOnlyList<ChatTurn> turns;
            try
            {
                turns = message.Messages ?? await queue.ReadPayloadAsync(message.PayloadBlob!, cancellationToken);
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // The payload is deleted only after a successful write, so this is a redelivery of a finished exchange.
                LogPayloadGone(logger, message.Id, userRef);
                return WriteOutcomes.AlreadyWritten;
            }
            await store.AddAsync(new MemoryExchange(message.Id, message.UserId, message.CreatedAt, turns), cancellationToken);
            LogWritten(logger, message.Id, userRef, turns.Count);

            if (await erasures.ForgottenAtAsync(message.UserId, cancellationToken) is { } forgottenAt && message.CreatedAt <= forgottenAt)
            {
                // The user was forgotten while this write was in flight: the store's delete may have run before the
                // write landed, so delete again, but only what the erasure covers: this exchange's memories and
                // anything dated before the erasure. Not everything: an exchange made after the forget may have been
                // written meanwhile, and it must stay. (Should this delete fail, the retry drops the exchange without
                // deleting; the warning above names it for an operator's erasure.)
                LogForgottenDuringWrite(logger, message.Id, userRef);
                await DeleteForgottenAsync(message, forgottenAt, cancellationToken);
            }
        }
        catch (MemoryStoreException ex)
        {
            // One line per try, no stack trace: the queue retries, and the poison queue keeps what never succeeds.
            if (ex.IsTransient)
            {
                LogTransient(logger, message.Id, userRef, ex.Status ?? 0, ex.Failure, ex.RetryAfter?.TotalSeconds ?? 0);
            }
            else
            {
                LogRefused(logger, message.Id, userRef, ex.Status ?? 0);
            }
            throw;
        }
        catch (RequestFailedException ex)
        {
            LogStorageFailed(logger, message.Id, userRef, ex.Status, ex.ErrorCode ?? "-");
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogUnexpected(logger, ex, message.Id, userRef);
            throw;
        }

        // After the write: a retry of this message (at-least-once) must still find its payload until it is done.
        await DeletePayloadAsync(message, cancellationToken);
        return WriteOutcomes.Written;
    }

    private async Task DeleteForgottenAsync(MemoryWriteMessage message, DateTimeOffset forgottenAt, CancellationToken cancellationToken)
    {
        var doomed = new List<string>();
        string? next = null;
        do
        {
            var page = await store.ListAsync(message.UserId, UserMemories.MaxPageSize, next, cancellationToken);
            doomed.AddRange(page.Items
                .Where(m => m.ExchangeId == message.Id || (m.CreatedAt ?? DateTimeOffset.MinValue) <= forgottenAt)
                .Select(m => m.Id));
            next = page.Next;
        }
        while (next is not null);
        foreach (string id in doomed)
        {
            await store.DeleteAsync(message.UserId, id, cancellationToken);
        }
    }

    private async Task<bool> IsForgottenAsync(MemoryWriteMessage message, CancellationToken cancellationToken) =>
        await erasures.ForgottenAtAsync(message.UserId, cancellationToken) is { } forgottenAt && message.CreatedAt <= forgottenAt;

    private async Task DeletePayloadAsync(MemoryWriteMessage message, CancellationToken cancellationToken)
    {
        if (message.PayloadBlob is not { } blob)
        {
            return;
        }
        try
        {
            await queue.DeletePayloadAsync(blob, cancellationToken);
        }
        catch (RequestFailedException ex)
        {
            // The memory is written (or dropped); failing the message now would only write it twice. The blob is left behind.
            LogPayloadNotDeleted(logger, message.Id, ex.Status);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Exchange {ExchangeId} of {UserRef} dropped: the user asked to be forgotten after it was made")]
    private static partial void LogDroppedForgotten(ILogger logger, string exchangeId, string userRef);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Exchange {ExchangeId} of {UserRef}: the user was forgotten while it was being written; deleting the user's memories again")]
    private static partial void LogForgottenDuringWrite(ILogger logger, string exchangeId, string userRef);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Exchange {ExchangeId} of {UserRef}: payload blob already gone, so it was written before; completing")]
    private static partial void LogPayloadGone(ILogger logger, string exchangeId, string userRef);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Exchange {ExchangeId}: payload blob could not be deleted after the write (HTTP {Status})")]
    private static partial void LogPayloadNotDeleted(ILogger logger, string exchangeId, int status);

    [LoggerMessage(Level = LogLevel.Information, Message = "Exchange {ExchangeId} of {UserRef} written to memory ({TurnCount} turns)")]
    private static partial void LogWritten(ILogger logger, string exchangeId, string userRef, int turnCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Exchange {ExchangeId} of {UserRef}: the memory store failed transiently (HTTP {Status}, {Error}, retry after {RetryAfterSeconds} s); the queue will retry it")]
    private static partial void LogTransient(ILogger logger, string exchangeId, string userRef, int status, string error, double retryAfterSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Exchange {ExchangeId} of {UserRef}: storage failed (HTTP {Status} {ErrorCode}); the queue will retry it")]
    private static partial void LogStorageFailed(ILogger logger, string exchangeId, string userRef, int status, string errorCode);

    [LoggerMessage(Level = LogLevel.Error, Message = "Exchange {ExchangeId} of {UserRef}: the memory write failed unexpectedly; the queue will retry it")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string exchangeId, string userRef);

    [LoggerMessage(Level = LogLevel.Error, Message = "Exchange {ExchangeId} of {UserRef}: the memory store refused the write (HTTP {Status}); it will end in the poison queue if retries keep failing")]
    private static partial void LogRefused(ILogger logger, string exchangeId, string userRef, int status);

    [LoggerMessage(Level = LogLevel.Error, Message = "Exchange {ExchangeId} of {UserRef} failed {Tries} times and moves to {PoisonQueue}, intact; replay it from there once the cause is fixed")]
    private static partial void LogPoisoned(ILogger logger, string exchangeId, string userRef, long tries, string poisonQueue);

    [LoggerMessage(Level = LogLevel.Error, Message = "A memory write message that cannot be read failed {Tries} times and moves to {PoisonQueue}, intact")]
    private static partial void LogUnreadablePoisoned(ILogger logger, long tries, string poisonQueue);

    [LoggerMessage(Level = LogLevel.Error, Message = "A memory write message could not be read ({Reason}, {Length} characters); it stays on the queue and will move to the poison queue")]
    private static partial void LogUnreadable(ILogger logger, string reason, int length);
}
