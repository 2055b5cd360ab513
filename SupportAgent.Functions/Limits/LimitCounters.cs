using Azure;
using Azure.Data.Tables;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Storage;

namespace SupportAgent.Functions.Limits;

/// <summary>
/// One user's counts: requests in the current minute and tokens on the current UTC day, each with the window it counts
/// ("yyyyMMddHHmm", "yyyyMMdd"); a count from an older window is zero.
/// </summary>
internal sealed record LimitCounts(string Minute, int Requests, string Day, long Tokens)
{
    public static readonly LimitCounts None = new("", 0, "", 0);
}

/// <summary>Counts as last read or written, with the row's ETag (default: there is no row yet).</summary>
internal sealed record StoredCounts(LimitCounts Counts, ETag ETag)
{
    public bool Exists => ETag != default;
}

/// <summary>
/// The per-user counter rows in the app's own storage account (table "userlimits", one row per user keyed by
/// <see cref="UserRef.Key"/>: no user id is stored). Every write is conditional (insert, or replace at the ETag read),
/// so instances that count at the same time never lose each other's counts: the loser gets null and reads again.
/// </summary>
public sealed class LimitCounters(StorageClients storage)
{
    public const string TableName = "userlimits";
    private const string RowKey = "counts";

    private readonly Lazy<TableClient> _table = new(() => storage.CreateTableServiceClient().GetTableClient(TableName));
    private volatile bool _tableExists;

    internal async Task<StoredCounts> ReadAsync(string key, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(key, RowKey, cancellationToken: cancellationToken);
        if (!row.HasValue)
        {
            return new StoredCounts(LimitCounts.None, default);
        }
        var e = row.Value!;
        return new StoredCounts(
            new LimitCounts(e.GetString("Minute") ?? "", e.GetInt32("Requests") ?? 0, e.GetString("Day") ?? "", e.GetInt64("Tokens") ?? 0),
            e.ETag);
    }

    /// <summary>Writes <paramref name="counts"/> if the row is still as <paramref name="read"/> found it; null if another writer came first.</summary>
    internal async Task<StoredCounts?> TryWriteAsync(string key, StoredCounts read, LimitCounts counts, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken);
        var entity = new TableEntity(key, RowKey)
        {
            ["Minute"] = counts.Minute,
            ["Requests"] = counts.Requests,
            ["Day"] = counts.Day,
            ["Tokens"] = counts.Tokens,
        };
        try
        {
            var response = read.Exists
                ? await table.UpdateEntityAsync(entity, read.ETag, TableUpdateMode.Replace, cancellationToken)
                : await table.AddEntityAsync(entity, cancellationToken);
            return new StoredCounts(counts, response.Headers.ETag ?? throw new InvalidOperationException("The table service returned no ETag."));
        }
        catch (RequestFailedException ex) when (ex.Status is 409 or 412 or 404)
        {
            return null; // added, changed or deleted by someone else since the read
        }
    }

    /// <summary>Removes the user's counters ("forget me").</summary>
    public async Task DeleteAsync(string userId, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken);
        await table.DeleteEntityAsync(UserRef.Key(userId), RowKey, ETag.All, cancellationToken);
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
}
