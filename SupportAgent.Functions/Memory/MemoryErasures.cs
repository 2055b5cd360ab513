using Azure.Data.Tables;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Storage;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// When each user last asked to be forgotten, in the app's own storage account (table "erasures"), whatever the memory
/// store. The memory writer drops every exchange dated before that time, so exchanges still on the queue, waiting for a
/// retry or replayed from the poison queue cannot write a forgotten user's memories back. Rows are keyed by a hash of
/// the user id: the record of an erasure keeps no personal data.
/// </summary>
public sealed class MemoryErasures(StorageClients storage)
{
    public const string TableName = "erasures";
    private const string RowKey = "forgotten";

    private readonly Lazy<TableClient> _table = new(() => storage.CreateTableServiceClient().GetTableClient(TableName));
    private volatile bool _tableExists;

    /// <summary>Records that everything about the user up to <paramref name="at"/> is to be forgotten. A later erasure only moves the time forward.</summary>
    public async Task RecordAsync(string userId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken);
        var previous = await ForgottenAtAsync(userId, cancellationToken);
        if (previous >= at)
        {
            return;
        }
        var entity = new TableEntity(Key(userId), RowKey) { ["ForgottenAt"] = at };
        await table.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken);
    }

    /// <summary>When the user was last forgotten, or null if never.</summary>
    public async Task<DateTimeOffset?> ForgottenAtAsync(string userId, CancellationToken cancellationToken)
    {
        var table = await TableAsync(cancellationToken);
        var row = await table.GetEntityIfExistsAsync<TableEntity>(Key(userId), RowKey, ["ForgottenAt"], cancellationToken);
        return row.HasValue ? row.Value!.GetDateTimeOffset("ForgottenAt") : null;
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

    private static string Key(string userId) => UserRef.Key(MemoryUserId.Require(userId));
}
