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
public sealed class MemoryErasures
{
    public const string TableName = "erasures";
    private const string RowKey = "forgotten";

    private readonly Lazy<TableClient> _table;
    private readonly StorageResource _resource;

    public MemoryErasures(StorageClients storage)
    {
        _table = new(() => storage.CreateTableServiceClient().GetTableClient(TableName));
        _resource = new StorageResource(ct => _table.Value.CreateIfNotExistsAsync(ct));
    }

    /// <summary>Records that everything about the user up to <paramref name="at"/> is to be forgotten. A later erasure only moves the time forward.</summary>
    public async Task RecordAsync(string userId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var previous = await ForgottenAtAsync(userId, cancellationToken);
        if (previous >= at)
        {
            return;
        }
        var entity = new TableEntity(Key(userId), RowKey) { ["ForgottenAt"] = at };
        await _resource.RunAsync(() => _table.Value.UpsertEntityAsync(entity, TableUpdateMode.Replace, cancellationToken), cancellationToken);
    }

    /// <summary>When the user was last forgotten, or null if never.</summary>
    public async Task<DateTimeOffset?> ForgottenAtAsync(string userId, CancellationToken cancellationToken)
    {
        await _resource.EnsureAsync(cancellationToken);
        var row = await _table.Value.GetEntityIfExistsAsync<TableEntity>(Key(userId), RowKey, ["ForgottenAt"], cancellationToken);
        return row.HasValue ? row.Value!.GetDateTimeOffset("ForgottenAt") : null;
    }


    private static string Key(string userId) => UserRef.Key(MemoryUserId.Require(userId));
}
