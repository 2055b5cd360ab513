using System.Numerics.Tensors;
using Azure;
using Azure.Data.Tables;
using Microsoft.Extensions.AI;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Storage;

namespace SupportAgent.Functions.Memory.BuiltIn;

/// <summary>
/// Long-term memory without any external service: the user's statements, embedded in process and kept in the app's
/// own storage account (table <see cref="TableName"/>, one partition per user, keyed by a hash of the user id). Each
/// memory is a row (text, exchange id, time); the user's search index is one more row holding every memory's id and
/// int8 vector (<see cref="MemoryIndex"/>), of which each instance caches recent copies, checked against the row's
/// ETag (<see cref="MemoryIndexCache"/>). A search embeds the query while it reads that one index row (or its ETag), ranks by
/// cosine similarity (<see cref="MemoryRanking"/>), then reads the top-k rows' text. At most <see cref="DefaultCapacity"/>
/// memories per user: beyond that the oldest is deleted. Near-duplicates are stored once (the newer wording wins), and
/// a newer statement on the same subject supersedes the older one (<see cref="Supersession"/>): the older one stays
/// listed, marked, but a search returns the current one in its place.
/// </summary>
public sealed class BuiltInMemoryStore(StorageClients storage, IEmbeddingGenerator<string, Embedding<float>> embeddings, MemoryIndexCache cache, TimeProvider timeProvider) : IMemoryStore
{
    public const string TableName = "usermemories";

    /// <summary>Memories per user: the index row (about 400 KB at 1,000) must stay under the table service's 1 MB per entity.</summary>
    public const int DefaultCapacity = 1000;

    /// <summary>Cosine similarity at or above which two statements of a user count as the same (numbers must match too).</summary>
    public const float DuplicateSimilarity = 0.95f;

    private const int MaxTransactionActions = 100; // the table service's limit per batch
    private const int MaxWriteAttempts = 8;

    // Index writes in flight at once in this instance. Each holds about 2 MB of request and response buffers at the cap,
    // and the queue listener hands over up to 24 messages at a time: unbounded, the peak working set went past 400 MB.
    private static readonly int WriteConcurrency = Math.Max(2, Environment.ProcessorCount);

    private readonly Lazy<TableClient> _table = new(() => storage.CreateTableServiceClient().GetTableClient(TableName));
    private readonly MemoryIndexCache _cache = cache;
    private readonly SemaphoreSlim _writes = new(WriteConcurrency, WriteConcurrency);
    private StorageResource? _tableResource;

    /// <summary>The table, created on first use and again if it goes missing under this instance.</summary>
    private StorageResource TableResource => LazyInitializer.EnsureInitialized(ref _tableResource, () => new StorageResource(ct => _table.Value.CreateIfNotExistsAsync(ct)));

    public MemoryRanking Ranking { get; init; } = MemoryRanking.Default;

    /// <summary>When a newer statement replaces an older one (same subject); <see cref="Supersession.Never"/> keeps every statement standing.</summary>
    public Supersession Supersession { get; init; } = Supersession.Default;

    /// <summary>How many memories a user keeps; the oldest is deleted beyond it. Tests use a small one.</summary>
    public int Capacity { get; init; } = DefaultCapacity;

    public Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK, CancellationToken cancellationToken) =>
        FailuresAsMemoryStoreException("search", () => TableResource.RunAsync(() => SearchCoreAsync(userId, query, topK, cancellationToken), cancellationToken), cancellationToken);

    public Task AddAsync(MemoryExchange exchange, CancellationToken cancellationToken) =>
        FailuresAsMemoryStoreException("add", async () => { await TableResource.RunAsync(() => AddCoreAsync(exchange, cancellationToken), cancellationToken); return true; }, cancellationToken);

    /// <summary>Newest first; <paramref name="next"/> is the table service's continuation token.</summary>
    public Task<MemoryPage> ListAsync(string userId, int pageSize, string? next, CancellationToken cancellationToken) =>
        FailuresAsMemoryStoreException("list", () => TableResource.RunAsync(() => ListCoreAsync(userId, pageSize, next, cancellationToken), cancellationToken), cancellationToken);

    /// <summary>The id is a row key inside this user's own partition, so another user's id never names anything here.</summary>
    public Task<bool> DeleteAsync(string userId, string memoryId, CancellationToken cancellationToken) =>
        FailuresAsMemoryStoreException("delete", () => TableResource.RunAsync(() => DeleteCoreAsync(userId, memoryId, cancellationToken), cancellationToken), cancellationToken);

    public Task DeleteAllAsync(string userId, CancellationToken cancellationToken) =>
        FailuresAsMemoryStoreException("delete-all", async () => { await TableResource.RunAsync(() => DeleteAllCoreAsync(userId, cancellationToken), cancellationToken); return true; }, cancellationToken);

    /// <summary>The embedding model loaded (and started loading, if nothing had yet); at once for a generator that needs no loading.</summary>
    public Task WhenReadyAsync() => embeddings is MiniLmEmbeddingGenerator model ? model.WhenLoadedAsync() : Task.CompletedTask;

    private async Task<IReadOnlyList<MemoryItem>> SearchCoreAsync(string userId, string query, int topK, CancellationToken cancellationToken)
    {
        string partition = Partition(userId);
        if (string.IsNullOrWhiteSpace(query) || topK <= 0)
        {
            return [];
        }
        var table = await TableAsync(cancellationToken);
        // The index read (I/O) runs while the query is embedded (CPU).
        var indexRead = ReadIndexAsync(table, partition, cancellationToken);
        ReadOnlyMemory<float> vector;
        try
        {
            vector = await EmbedOneAsync(query, cancellationToken);
        }
        finally
        {
            await ObserveAsync(indexRead);
        }
        var index = await indexRead;
        var chains = index.Chains();
        var ranked = Ranking.Rank(index.Items, chains, vector.Span, topK, timeProvider.GetUtcNow());
        var rows = await Task.WhenAll(ranked.Select(r => ReadRowAsync(table, partition, r.Memory.Id, cancellationToken)));
        var found = new List<MemoryItem>(ranked.Count);
        for (int i = 0; i < ranked.Count; i++)
        {
            if (rows[i] is { } row) // a row deleted since the index was read is skipped
            {
                found.Add(new MemoryItem(row.RowKey, row.Memory, Math.Clamp(ranked[i].Similarity, 0, 1), row.CreatedAt)
                {
                    SupersededBy = chains.ReplacedBy(row.RowKey),
                });
            }
        }
        return found;
    }

    private async Task AddCoreAsync(MemoryExchange exchange, CancellationToken cancellationToken)
    {
        string partition = Partition(exchange.UserId);
        var statements = exchange.Turns
            .Select((turn, position) => (turn, position))
            .Where(t => t.turn.Role == ChatTurn.User && WorthRemembering.Statement(t.turn.Content))
            .Select(t => (Id: MemoryIds.For(exchange.CreatedAt, exchange.Id, t.position), Text: t.turn.Content.Trim()))
            .ToList();
        if (statements.Count == 0)
        {
            return;
        }
        var table = await TableAsync(cancellationToken);
        var vectors = await embeddings.GenerateAsync(statements.Select(s => s.Text), cancellationToken: cancellationToken);
        var candidates = statements.Select((s, i) => (s.Id, s.Text, Indexed: IndexedMemory.Quantize(s.Id, vectors[i].Vector.Span, s.Text), Vector: vectors[i].Vector)).ToList();

        await _writes.WaitAsync(cancellationToken);
        try
        {
            await WriteStatementsAsync(table, partition, exchange.Id, exchange.CreatedAt, candidates, cancellationToken);
        }
        finally
        {
            _writes.Release();
        }
    }

    private async Task WriteStatementsAsync(TableClient table, string partition, string exchangeId, DateTimeOffset createdAt,
        List<(string Id, string Text, IndexedMemory Indexed, ReadOnlyMemory<float> Vector)> candidates, CancellationToken cancellationToken)
    {
        for (int attempt = 1; ; attempt++)
        {
            var index = (await ReadIndexAsync(table, partition, cancellationToken)).Clone();
            var rows = new List<MemoryRow>();
            var removed = new List<string>();
            foreach (var c in candidates)
            {
                if (index.Contains(c.Id))
                {
                    continue; // written before: this is a redelivered message
                }
                if (FindDuplicate(index, c.Vector, c.Indexed.Numbers) is { } duplicate)
                {
                    index.Remove(duplicate);
                    index.Redirect(duplicate, c.Id);
                    removed.Add(duplicate);
                }
                index.Add(c.Indexed, c.Vector.Span, Supersession);
                rows.Add(new MemoryRow { PartitionKey = partition, RowKey = c.Id, Memory = c.Text, ExchangeId = exchangeId, CreatedAt = createdAt });
            }
            if (rows.Count == 0)
            {
                return;
            }
            removed.AddRange(index.TrimTo(Capacity));
            // A memory dropped in the same write it was added in (an exchange older than all 1,000 kept) is not written.
            rows.RemoveAll(r => !index.Contains(r.RowKey));
            removed.RemoveAll(id => rows.Exists(r => r.RowKey == id));

            try
            {
                _cache.Put(partition, index.Stored(await WriteAsync(table, partition, rows, index, cancellationToken)));
            }
            catch (RequestFailedException ex) when (ex.Status is 409 or 412 && attempt < MaxWriteAttempts)
            {
                // Another write to this user's index got there first: read it again and redo this one on top.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(10, 50) * attempt), timeProvider, cancellationToken);
                continue;
            }
            await DeleteRowsAsync(table, partition, removed, cancellationToken);
            return;
        }
    }

    private async Task<MemoryPage> ListCoreAsync(string userId, int pageSize, string? next, CancellationToken cancellationToken)
    {
        string partition = Partition(userId);
        var table = await TableAsync(cancellationToken);
        // The index says which memories a newer one replaces; the rows hold the text.
        var chains = (await ReadIndexAsync(table, partition, cancellationToken)).Chains();
        await foreach (var page in table.QueryAsync<MemoryRow>(RowsOf(partition), cancellationToken: cancellationToken)
                           .AsPages(next, Math.Clamp(pageSize, 1, 1000)))
        {
            return new MemoryPage(page.Values.Select(r => new MemoryItem(r.RowKey, r.Memory, null, r.CreatedAt)
            {
                SupersededBy = chains.ReplacedBy(r.RowKey),
                ExchangeId = r.ExchangeId,
            }).ToArray(), page.ContinuationToken);
        }
        return new MemoryPage([], null);
    }

    private async Task<bool> DeleteCoreAsync(string userId, string memoryId, CancellationToken cancellationToken)
    {
        string partition = Partition(userId);
        if (!MemoryIds.IsValid(memoryId))
        {
            return false;
        }
        var table = await TableAsync(cancellationToken);
        bool inIndex = false;
        for (int attempt = 1; ; attempt++)
        {
            var index = (await ReadIndexAsync(table, partition, cancellationToken)).Clone();
            if (!index.Remove(memoryId))
            {
                break;
            }
            try
            {
                var updated = await table.UpdateEntityAsync(index.ToEntity(partition), index.ETag!.Value, TableUpdateMode.Replace, cancellationToken);
                _cache.Put(partition, index.Stored(updated.Headers.ETag!.Value));
                inIndex = true;
                break;
            }
            catch (RequestFailedException ex) when (ex.Status is 412 or 404 && attempt < MaxWriteAttempts)
            {
                // Changed (or deleted) since it was read: read it again.
            }
        }
        bool rowDeleted = await DeleteRowAsync(table, partition, memoryId, cancellationToken);
        return inIndex || rowDeleted;
    }

    private async Task DeleteAllCoreAsync(string userId, CancellationToken cancellationToken)
    {
        string partition = Partition(userId);
        var table = await TableAsync(cancellationToken);
        // The index first: from then on no search finds anything, even while the rows are being deleted.
        await DeleteRowAsync(table, partition, MemoryIndex.RowKey, cancellationToken);
        _cache.Remove(partition);
        var ids = new List<string>();
        await foreach (var row in table.QueryAsync<TableEntity>(RowsOf(partition), select: ["PartitionKey", "RowKey"], cancellationToken: cancellationToken))
        {
            ids.Add(row.RowKey);
        }
        await DeleteRowsAsync(table, partition, ids, cancellationToken);
    }

    /// <summary>
    /// The seam's one failure type for what fails inside this store: the storage account (unreachable, throttling,
    /// refusing; its SDK's own retries already spent, or index conflicts beyond <see cref="MaxWriteAttempts"/>), an index
    /// row it cannot read, or the embedding model. A caller's cancellation and a refused user id pass through as they are.
    /// </summary>
    private static async Task<T> FailuresAsMemoryStoreException<T>(string operation, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call();
        }
        catch (RequestFailedException ex)
        {
            throw Failed(operation, ex, ex.Status);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is RequestFailedException or HttpRequestException or OperationCanceledException))
        {
            // The storage SDK's retries ran out: every try failed without an answer worth keeping.
            throw Failed(operation, ex, ex.InnerExceptions.OfType<RequestFailedException>().LastOrDefault()?.Status ?? 0);
        }
        catch (InvalidDataException ex)
        {
            throw new MemoryStoreException($"The built-in store's {operation} failed: the user's index row cannot be read.", null, isTransient: false, inner: ex);
        }
        catch (Exception ex) when (ex is Microsoft.ML.OnnxRuntime.OnnxRuntimeException or IOException)
        {
            throw new MemoryStoreException($"The built-in store's {operation} failed: the embedding model could not run.", null, isTransient: true, inner: ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MemoryStoreException($"The built-in store's {operation} timed out.", null, isTransient: true, inner: ex);
        }
    }

    private static MemoryStoreException Failed(string operation, Exception ex, int status) =>
        new($"The built-in store's {operation} failed: storage {(status == 0 ? "could not be reached" : $"answered HTTP {status}")}.",
            status == 0 ? null : status,
            isTransient: status is 0 or 409 or 412 || MemoryStoreException.IsTransientStatus(status),
            inner: ex);

    /// <summary>The user's memory rows (not the index row), newest first.</summary>
    private static string RowsOf(string partition) =>
        TableClient.CreateQueryFilter($"PartitionKey eq {partition} and RowKey ge {MemoryIds.RangeStart} and RowKey lt {MemoryIds.RangeEnd}");

    private async Task<ReadOnlyMemory<float>> EmbedOneAsync(string text, CancellationToken cancellationToken) =>
        (await embeddings.GenerateAsync([text], cancellationToken: cancellationToken))[0].Vector;

    /// <summary>The memory this statement repeats, if any: very high similarity and the same numbers (#1234 is not #1235).</summary>
    private static string? FindDuplicate(MemoryIndex index, ReadOnlyMemory<float> vector, uint numbers)
    {
        var scratch = new float[vector.Length];
        foreach (var item in index.Items)
        {
            if (item.Numbers == numbers && item.Similarity(vector.Span, scratch) >= DuplicateSimilarity)
            {
                return item.Id;
            }
        }
        return null;
    }

    /// <summary>Writes the new rows and the index; returns the index row's new ETag.</summary>
    private static async Task<ETag> WriteAsync(TableClient table, string partition, List<MemoryRow> rows, MemoryIndex index, CancellationToken cancellationToken)
    {
        var indexAction = index.ETag is { } etag
            ? new TableTransactionAction(TableTransactionActionType.UpdateReplace, index.ToEntity(partition), etag)
            : new TableTransactionAction(TableTransactionActionType.Add, index.ToEntity(partition));
        var rowActions = rows.Select(r => new TableTransactionAction(TableTransactionActionType.UpsertReplace, r)).ToList();
        // Usually one transaction: the new rows and the index together. An exchange with more than 99 statements
        // writes its rows first (upserts, safe to repeat), then the index with the last ones.
        while (rowActions.Count >= MaxTransactionActions)
        {
            await table.SubmitTransactionAsync(rowActions.Take(MaxTransactionActions), cancellationToken);
            rowActions.RemoveRange(0, MaxTransactionActions);
        }
        // A conflict on the index (412, or 409 when two first writes race) fails the whole transaction with that status.
        var responses = await table.SubmitTransactionAsync([.. rowActions, indexAction], cancellationToken);
        return responses.Value[^1].Headers.ETag ?? throw new InvalidOperationException("The table service returned no ETag for the memory index.");
    }

    private static async Task DeleteRowsAsync(TableClient table, string partition, IReadOnlyList<string> ids, CancellationToken cancellationToken)
    {
        foreach (var chunk in ids.Chunk(MaxTransactionActions))
        {
            try
            {
                await table.SubmitTransactionAsync(chunk.Select(id => new TableTransactionAction(TableTransactionActionType.Delete, new TableEntity(partition, id), ETag.All)), cancellationToken);
            }
            catch (TableTransactionFailedException)
            {
                // One of them is gone already (a concurrent delete): delete the rest one by one.
                foreach (var id in chunk)
                {
                    await DeleteRowAsync(table, partition, id, cancellationToken);
                }
            }
        }
    }

    private static async Task<bool> DeleteRowAsync(TableClient table, string partition, string rowKey, CancellationToken cancellationToken)
    {
        try
        {
            var response = await table.DeleteEntityAsync(partition, rowKey, ETag.All, cancellationToken);
            return response.Status != 404;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return false;
        }
    }

    /// <summary>
    /// The user's index as stored now. With a copy in this instance's cache, only the row's ETag is read (a point read
    /// selecting one small property) and the copy is used if it is current. Callers must Clone() before changing it.
    /// </summary>
    private async Task<MemoryIndex> ReadIndexAsync(TableClient table, string partition, CancellationToken cancellationToken)
    {
        if (_cache.Has(partition))
        {
            var probe = await table.GetEntityIfExistsAsync<TableEntity>(partition, MemoryIndex.RowKey, select: ["Count"], cancellationToken: cancellationToken);
            if (!probe.HasValue)
            {
                _cache.Remove(partition);
                return MemoryIndex.Empty();
            }
            if (_cache.Get(partition, probe.Value!.ETag) is { } current)
            {
                return current;
            }
        }
        var response = await table.GetEntityIfExistsAsync<TableEntity>(partition, MemoryIndex.RowKey, cancellationToken: cancellationToken);
        if (!response.HasValue)
        {
            return MemoryIndex.Empty();
        }
        var index = MemoryIndex.FromEntity(response.Value!);
        _cache.Put(partition, index);
        return index;
    }

    private static async Task<MemoryRow?> ReadRowAsync(TableClient table, string partition, string rowKey, CancellationToken cancellationToken)
    {
        var response = await table.GetEntityIfExistsAsync<MemoryRow>(partition, rowKey, cancellationToken: cancellationToken);
        return response.HasValue ? response.Value : null;
    }

    private static async Task ObserveAsync(Task task)
    {
        try
        {
            await task;
        }
        catch
        {
            // Only waited for so nothing runs on after the search failed; the search's own error is what surfaces.
        }
    }

    private async Task<TableClient> TableAsync(CancellationToken cancellationToken)
    {
        await TableResource.EnsureAsync(cancellationToken);
        return _table.Value;
    }

    /// <summary>Partition keys cannot hold '/', '\', '#', '?' or control characters, which user ids may: a hash instead.</summary>
    private static string Partition(string userId) => UserRef.Key(MemoryUserId.Require(userId));

    private sealed class MemoryRow : ITableEntity
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
