using SupportAgent.Functions.Conversation;

namespace SupportAgent.Functions.Memory;

/// <summary>One long-term memory of a user, as a store returns it from search or list.</summary>
public sealed record MemoryItem(string Id, string Memory, double? Score = null, DateTimeOffset? CreatedAt = null)
{
    /// <summary>When the store last changed it (Mem0's <c>updated_at</c>); null when the store does not say or never changes one.</summary>
    public DateTimeOffset? UpdatedAt { get; init; }

    /// <summary>
    /// The built-in store only: the id of the newer memory that replaces this one (same subject, said later). Such a
    /// memory is still listed, but no longer searched for itself (docs/memory.md).
    /// </summary>
    public string? SupersededBy { get; init; }

    /// <summary>The exchange it was written from, when the store records it (both do: a row column, Mem0's metadata).</summary>
    public string? ExchangeId { get; init; }

    /// <summary>The store's own time of what it holds: when it was last updated, else when it was said. The prompt dates memories by it.</summary>
    public DateTimeOffset? SaidAt => UpdatedAt ?? CreatedAt;
}

/// <summary>One page of a user's memories, newest first where the store knows the order; <see cref="Next"/> asks for the next page.</summary>
public sealed record MemoryPage(IReadOnlyList<MemoryItem> Items, string? Next);

/// <summary>One exchange to remember: the user's new turns and the reply, with the id that makes its write idempotent.</summary>
public sealed record MemoryExchange(string Id, string UserId, DateTimeOffset CreatedAt, IReadOnlyList<ChatTurn> Turns);

/// <summary>
/// Where a user's long-term memories live: Mem0 (Platform or self-hosted server) or the store in the app's own
/// storage account. Every call is scoped to one user; an empty or wildcard user id is refused before anything is sent,
/// and no call can read, change or delete another user's memories.
/// </summary>
public interface IMemoryStore
{
    /// <summary>
    /// The user's memories most relevant to <paramref name="query"/>, best first, at most <paramref name="topK"/>, each
    /// with the store's time (<see cref="MemoryItem.SaidAt"/>) when it has one.
    /// </summary>
    Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK, CancellationToken cancellationToken);

    /// <summary>
    /// Remembers an exchange, dated <see cref="MemoryExchange.CreatedAt"/> (when the user said it, not when the write
    /// runs, so a retried write is not dated later). Writing the same exchange again (a redelivered queue message) must
    /// not duplicate it.
    /// </summary>
    Task AddAsync(MemoryExchange exchange, CancellationToken cancellationToken);

    /// <summary>One page of the user's memories; pass the previous page's <see cref="MemoryPage.Next"/> for the next one.</summary>
    Task<MemoryPage> ListAsync(string userId, int pageSize, string? next, CancellationToken cancellationToken);

    /// <summary>Deletes one memory of this user; false when there is no such memory or it belongs to someone else.</summary>
    Task<bool> DeleteAsync(string userId, string memoryId, CancellationToken cancellationToken);

    /// <summary>Deletes every memory of this user.</summary>
    Task DeleteAllAsync(string userId, CancellationToken cancellationToken);

    /// <summary>
    /// Completes when the store answers searches at its usual speed: at once for Mem0; for the built-in store once its
    /// embedding model is loaded, which a new instance does in its first seconds. Faults if it never will.
    /// </summary>
    Task WhenReadyAsync() => Task.CompletedTask;
}
