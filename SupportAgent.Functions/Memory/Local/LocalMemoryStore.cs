using System.Security.Cryptography;
using System.Text;
using Azure;
using Azure.Data.Tables;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Storage;

namespace SupportAgent.Functions.Memory.Local;

/// <summary>
/// MEM0_API=local: long-term memory without Mem0, for development and demos. Each user statement is kept verbatim in
/// the app's own storage account (table "memories", one partition per user) and search ranks a user's statements by
/// shared words, then by recency. No LLM extracts facts, so it is cruder than Mem0, but the whole path, queue
/// included, runs with nothing but a model endpoint and Azurite.
/// </summary>
public sealed class LocalMemoryStore(StorageClients storage) : IMemoryStore
{
    public const string TableName = "memories";

    // A search reads at most this many of the user's newest statements.
    private const int SearchWindow = 500;

    private readonly Lazy<TableClient> _table = new(() => storage.CreateTableServiceClient().GetTableClient(TableName));
    private volatile bool _tableExists;

    public async Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken);
        var queryWords = Words(query);
        string partition = Partition(userId);
        var candidates = new List<(MemoryEntity Entity, int Overlap)>();
        await foreach (var entity in table.QueryAsync<MemoryEntity>(e => e.PartitionKey == partition, maxPerPage: SearchWindow, cancellationToken: cancellationToken))
        {
            candidates.Add((entity, Words(entity.Memory).Count(queryWords.Contains)));
            if (candidates.Count >= SearchWindow)
            {
                break;
            }
        }
        // Row keys sort newest first, so a stable sort by overlap keeps recency as the tie-break.
        return candidates
            .OrderByDescending(c => c.Overlap)
            .Take(topK)
            .Select(c => new MemoryItem(c.Entity.RowKey, c.Entity.Memory, queryWords.Count == 0 ? 0 : (double)c.Overlap / queryWords.Count, c.Entity.CreatedAt))
            .ToArray();
    }

    public async Task AddAsync(MemoryExchange exchange, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken);
        string partition = Partition(exchange.UserId);
        // Newest first by row key; derived from the exchange so a redelivered queue message rewrites, never duplicates.
        string rowPrefix = $"{DateTimeOffset.MaxValue.UtcTicks - exchange.CreatedAt.UtcTicks:D19}-{exchange.Id}";
        int index = 0;
        var actions = new List<TableTransactionAction>();
        foreach (var turn in exchange.Turns.Where(m => m.Role == ChatTurn.User))
        {
            string row = $"{rowPrefix}-{index++:D3}";
            var entity = new MemoryEntity
            {
                PartitionKey = partition, RowKey = row, Memory = turn.Content.Trim(), ExchangeId = exchange.Id, CreatedAt = exchange.CreatedAt,
            };
            actions.Add(new TableTransactionAction(TableTransactionActionType.UpsertReplace, entity));
        }
        if (actions.Count > 0)
        {
            await table.SubmitTransactionAsync(actions, cancellationToken);
        }
    }

    /// <summary>Newest first (the row keys sort that way); <paramref name="next"/> is the table service's continuation token.</summary>
    public async Task<MemoryPage> ListAsync(string userId, int pageSize, string? next, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken);
        string partition = Partition(userId);
        await foreach (var page in table.QueryAsync<MemoryEntity>(e => e.PartitionKey == partition, cancellationToken: cancellationToken)
                           .AsPages(next, Math.Clamp(pageSize, 1, 1000)))
        {
            return new MemoryPage(page.Values.Select(e => new MemoryItem(e.RowKey, e.Memory, null, e.CreatedAt)).ToArray(), page.ContinuationToken);
        }
        return new MemoryPage([], null);
    }

    /// <summary>The id is the row key within the user's own partition, so another user's id can never name a row here.</summary>
    public async Task<bool> DeleteAsync(string userId, string memoryId, CancellationToken cancellationToken)
    {
        string partition = Partition(userId);
        if (string.IsNullOrWhiteSpace(memoryId) || memoryId.Length > 200 || !memoryId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
        {
            return false;
        }
        var table = await TableAsync(cancellationToken);
        // The table client answers a delete of a missing entity with its 404 response instead of throwing.
        var response = await table.DeleteEntityAsync(partition, memoryId, ETag.All, cancellationToken);
        return response.Status != 404;
    }

    public async Task DeleteAllAsync(string userId, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken);
        var batch = new List<TableTransactionAction>();
        string partition = Partition(userId);
        await foreach (var entity in table.QueryAsync<MemoryEntity>(e => e.PartitionKey == partition, select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            batch.Add(new TableTransactionAction(TableTransactionActionType.Delete, entity, ETag.All));
            if (batch.Count == 100) // the table service's transaction limit
            {
                await table.SubmitTransactionAsync(batch, cancellationToken);
                batch.Clear();
            }
        }
        if (batch.Count > 0)
        {
            await table.SubmitTransactionAsync(batch, cancellationToken);
        }
    }

    private async Task<TableClient> TableAsync(CancellationToken cancellationToken)
    {
        if (!_tableExists)
        {
            await _table.Value.CreateIfNotExistsAsync(cancellationToken);
            _tableExists = true;
        }
        return _table.Value;
    }

    /// <summary>Partition keys cannot hold '/', '\', '#', '?' or control characters, which user ids may: use a hash.</summary>
    private static string Partition(string userId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(MemoryUserId.Require(userId))));

    private static HashSet<string> Words(string text)
    {
        var words = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var current = new StringBuilder();
        foreach (char c in text + " ")
        {
            if (char.IsLetterOrDigit(c))
            {
                current.Append(char.ToLowerInvariant(c));
            }
            else if (current.Length > 0)
            {
                if (current.Length > 2) // skip "is", "my", "it": they match everything
                {
                    words.Add(current.ToString());
                }
                current.Clear();
            }
        }
        return words;
    }

    private sealed class MemoryEntity : ITableEntity
    {
        public string PartitionKey { get; set; } = "";
        public string RowKey { get; set; } = "";
        public DateTimeOffset? Timestamp { get; set; }
        public ETag ETag { get; set; }
        public string Memory { get; set; } = "";
        public string? ExchangeId { get; set; }
        public DateTimeOffset? CreatedAt { get; set; }
    }
}
