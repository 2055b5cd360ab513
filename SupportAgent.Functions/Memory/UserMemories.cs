using Microsoft.Extensions.Logging;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Limits;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// What a user (GET/DELETE /api/me/memories) or an operator (/api/users/{userId}/memories) can see and erase of one
/// user's memories, through <see cref="IMemoryStore"/> only, so it works with every store.
/// </summary>
public sealed partial class UserMemories(IMemoryStore store, MemoryErasures erasures, UserLimiter limiter, TimeProvider timeProvider, ILogger<UserMemories> logger)
{
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 100;

    /// <summary>One page, newest first (stores that page in their own order are sorted within the page).</summary>
    public async Task<MemoryPage> ListAsync(string userId, int pageSize, string? next, CancellationToken cancellationToken)
    {
        var page = await store.ListAsync(userId, pageSize, next, cancellationToken);
        var items = page.Items.OrderByDescending(i => i.CreatedAt ?? DateTimeOffset.MinValue).ToArray(); // stable: ties keep the store's order
        return new MemoryPage(items, page.Next);
    }

    /// <summary>False when the user has no memory with that id (including when it is another user's).</summary>
    public async Task<bool> DeleteAsync(string userId, string memoryId, CancellationToken cancellationToken)
    {
        bool deleted = await store.DeleteAsync(userId, memoryId, cancellationToken);
        LogDeleted(logger, UserRef.For(userId), deleted);
        return deleted;
    }

    /// <summary>
    /// Forgets everything about the user. The erasure is recorded first, so from that moment the memory writer drops
    /// every older exchange still on its way (queued, retried, poisoned); then the store deletes what it holds, and the
    /// user's limit counters go too (keyed by the same hash: nothing about the user is kept).
    /// </summary>
    public async Task ForgetAsync(string userId, CancellationToken cancellationToken)
    {
        await erasures.RecordAsync(userId, timeProvider.GetUtcNow(), cancellationToken);
        await store.DeleteAllAsync(userId, cancellationToken);
        await limiter.ForgetAsync(userId, cancellationToken);
        LogForgotten(logger, UserRef.For(userId));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory of {UserRef}: one memory deleted: {Deleted}")]
    private static partial void LogDeleted(ILogger logger, string userRef, bool deleted);

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory of {UserRef}: erasure recorded, every memory and the limit counters deleted")]
    private static partial void LogForgotten(ILogger logger, string userRef);
}
