using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Memory;

/// <summary>How memory took part in a reply; sent to the client so a frontend can show it.</summary>
public enum MemoryStatus
{
    /// <summary>Memories were searched (zero or more found).</summary>
    Ok,

    /// <summary>The memory store failed; the reply was made without memories.</summary>
    Unavailable,

    /// <summary>The memory store did not answer within the time budget; the reply was made without memories.</summary>
    TimedOut,
}

public static class MemoryStatusNames
{
    /// <summary>The name a client, a span and a metric see: ok, timeout or unavailable.</summary>
    public static string Name(this MemoryStatus status) => status switch
    {
        MemoryStatus.Ok => "ok",
        MemoryStatus.TimedOut => "timeout",
        _ => "unavailable",
    };
}

/// <summary>One remembered statement for the prompt: its text and the (UTC) date it was said, when the store knows it.</summary>
public sealed record RecalledMemory(string Text, DateOnly? Said);

/// <summary>What the search found for this reply: the most relevant memories, listed newest first.</summary>
public sealed record RecalledMemories(IReadOnlyList<RecalledMemory> Facts, MemoryStatus Status)
{
    public static RecalledMemories None(MemoryStatus status) => new([], status);

    /// <summary>
    /// The store's top k (chosen by relevance), listed newest first by the store's time, so the model reads what is
    /// current before what it replaced; the same text twice is listed once, with its latest time. Memories without a
    /// time keep their relevance order after the dated ones.
    /// </summary>
    public static IReadOnlyList<RecalledMemory> NewestFirst(IEnumerable<MemoryItem> items) =>
        items
            .Select(i => (Text: i.Memory.Trim(), i.SaidAt))
            .Where(m => m.Text.Length > 0)
            .GroupBy(m => m.Text, StringComparer.Ordinal)
            .Select(g => (Text: g.Key, SaidAt: g.Max(m => m.SaidAt)))
            .OrderByDescending(m => m.SaidAt ?? DateTimeOffset.MinValue) // stable: equal times keep the store's (relevance) order
            .Select(m => new RecalledMemory(m.Text, m.SaidAt is { } at ? DateOnly.FromDateTime(at.UtcDateTime) : null))
            .ToArray();
}

/// <summary>
/// Searches a user's memories for the chat path within a time budget. Memory makes replies better but is never
/// allowed to stop one: on failure or timeout the reply is made without memories and the response says so. On a new
/// instance the store may still be starting (the built-in store's embedding model loads in its first seconds, longer
/// on a busy machine): a search first waits for it within <see cref="StartupAllowance"/>, and the budget starts once
/// the store is ready, so the first users of an instance get their memories too.
/// </summary>
public sealed partial class MemoryRecall(
    IMemoryStore store,
    IOptions<MemoryOptions> options,
    SupportAgentMetrics metrics,
    TimeProvider timeProvider,
    ILogger<MemoryRecall> logger)
{
    /// <summary>
    /// How long a search may wait for a store that is still starting, before its own budget: about ten times what the
    /// built-in store's model takes to load on the busy 2-core machine measured (docs/memory.md); past it, the reply
    /// goes without memories as for a store that is down.
    /// </summary>
    public static readonly TimeSpan StartupAllowance = TimeSpan.FromSeconds(30);

    private readonly MemoryOptions _options = options.Value;

    public async Task<RecalledMemories> RecallAsync(string userId, string query, CancellationToken cancellationToken)
    {
        string storeName = store.GetType().Name;
        using var activity = SupportAgentTelemetry.Source.StartActivity("memory search");
        activity?.SetTag(SupportAgentTelemetry.MemoryStore, storeName);
        activity?.SetTag(SupportAgentTelemetry.MemoryTopK, _options.SearchTopK);
        activity?.SetTag(SupportAgentTelemetry.MemoryBudgetMs, _options.SearchTimeoutMs);
        long started = timeProvider.GetTimestamp();
        var recalled = await SearchAsync(userId, query, cancellationToken);

        string status = recalled.Status.Name();
        metrics.MemorySearched(status, storeName, timeProvider.GetElapsedTime(started));
        activity?.SetTag(SupportAgentTelemetry.MemoryStatus, status);
        activity?.SetTag(SupportAgentTelemetry.MemoryCount, recalled.Facts.Count);
        if (recalled.Status != MemoryStatus.Ok)
        {
            activity.Fail(status); // the reply goes on, but this search failed: it shows as one
        }
        return recalled;
    }

    private async Task<RecalledMemories> SearchAsync(string userId, string query, CancellationToken cancellationToken)
    {
        var ready = store.WhenReadyAsync();
        if (!ready.IsCompleted && !await WaitUntilReadyAsync(ready, userId, cancellationToken))
        {
            return RecalledMemories.None(MemoryStatus.TimedOut);
        }
        using var budget = new CancellationTokenSource(_options.SearchTimeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        long started = timeProvider.GetTimestamp();
        try
        {
            var items = await store.SearchAsync(userId, query, _options.SearchTopK, linked.Token);
            var facts = RecalledMemories.NewestFirst(items);
            if (logger.IsEnabled(LogLevel.Debug)) // the hash is only worth computing when the line is written
            {
                LogRecalled(logger, UserRef.For(userId), facts.Count, timeProvider.GetElapsedTime(started).TotalMilliseconds);
            }
            return new RecalledMemories(facts, MemoryStatus.Ok);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            // Whatever failed or ran out of time (Mem0, the network, the built-in store's storage account or its model), the reply goes
            // on without memories.
            if (budget.IsCancellationRequested)
            {
                LogTimedOut(logger, UserRef.For(userId), _options.SearchTimeoutMs);
                return RecalledMemories.None(MemoryStatus.TimedOut);
            }
            var failed = ex as MemoryStoreException;
            LogUnavailable(logger, UserRef.For(userId), failed?.Status ?? 0, failed?.Failure ?? ex.GetType().Name);
            return RecalledMemories.None(MemoryStatus.Unavailable);
        }
    }

    /// <summary>False when the store did not start within the allowance; a store that failed to start surfaces as the search's failure.</summary>
    private async Task<bool> WaitUntilReadyAsync(Task ready, string userId, CancellationToken cancellationToken)
    {
        using var allowance = new CancellationTokenSource(StartupAllowance, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, allowance.Token);
        long started = timeProvider.GetTimestamp();
        LogWaitingForStore(logger, UserRef.For(userId), StartupAllowance.TotalSeconds);
        try
        {
            await ready.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (allowance.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            LogStoreNotStarted(logger, UserRef.For(userId), StartupAllowance.TotalSeconds);
            return false;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return true; // the search tries, fails the same way, and is reported as unavailable
        }
        LogStoreStarted(logger, UserRef.For(userId), timeProvider.GetElapsedTime(started).TotalMilliseconds);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory search for {UserRef} waits for the memory store to start (its model is loading), up to {AllowanceSeconds} s before its budget")]
    private static partial void LogWaitingForStore(ILogger logger, string userRef, double allowanceSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory search for {UserRef} waited {ElapsedMs:F0} ms for the memory store to start")]
    private static partial void LogStoreStarted(ILogger logger, string userRef, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Memory search for {UserRef}: the memory store did not start within {AllowanceSeconds} s; replying without memories")]
    private static partial void LogStoreNotStarted(ILogger logger, string userRef, double allowanceSeconds);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Memory search for {UserRef} found {Count} memories in {ElapsedMs:F0} ms")]
    private static partial void LogRecalled(ILogger logger, string userRef, int count, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Memory search for {UserRef} ran past its {BudgetMs} ms budget; replying without memories")]
    private static partial void LogTimedOut(ILogger logger, string userRef, int budgetMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Memory search for {UserRef} failed (HTTP {Status}, {Error}); replying without memories")]
    private static partial void LogUnavailable(ILogger logger, string userRef, int status, string error);
}
