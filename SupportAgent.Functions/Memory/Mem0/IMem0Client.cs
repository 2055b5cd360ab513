using SupportAgent.Functions.Chat;

namespace SupportAgent.Functions.Memory.Mem0;

/// <summary>One long-term memory of a user, as Mem0 returns it from search or list.</summary>
public sealed record MemoryItem(string Id, string Memory, double? Score);

/// <summary>
/// Mem0 over HTTP. Two implementations, because the hosted Platform and the self-hosted server differ in paths,
/// auth header, request fields and response shapes (see shared/reference/mem0-http-api.md).
/// Every call is scoped to one user; an empty or wildcard user id is refused before anything is sent.
/// </summary>
public interface IMem0Client
{
    Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK, CancellationToken cancellationToken);

    Task AddAsync(string userId, IReadOnlyList<ChatTurn> messages, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken);

    Task<IReadOnlyList<MemoryItem>> ListAsync(string userId, CancellationToken cancellationToken);

    Task DeleteAsync(string memoryId, CancellationToken cancellationToken);

    Task DeleteAllAsync(string userId, CancellationToken cancellationToken);
}
