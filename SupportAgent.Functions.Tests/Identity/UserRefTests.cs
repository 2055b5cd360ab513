using Azure.Data.Tables;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.BuiltIn;
using SupportAgent.Functions.Storage;
using SupportAgent.Functions.Tests.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Identity;

/// <summary>One hash of a user id names the user wherever the id itself must not appear: logs, the built-in store's partition, the erasure table.</summary>
public sealed class UserRefTests
{
    private readonly string _user = "dana@example.com/" + Guid.NewGuid().ToString("N")[..8]; // a '/' no table key may hold

    [Fact]
    public void The_log_reference_is_the_start_of_the_storage_key()
    {
        string key = UserRef.Key(_user);

        Assert.Matches("^[0-9a-f]{64}$", key);
        Assert.Equal("u_" + key[..12], UserRef.For(_user));
        Assert.NotEqual(key, UserRef.Key(_user.ToUpperInvariant()));
    }

    [Fact]
    public async Task The_built_in_store_and_the_erasure_table_key_the_user_by_that_hash()
    {
        await BuiltInMemoryStoreTests.NewStore().AddAsync(BuiltInMemoryStoreTests.Exchange(_user, "I live in Porto."), CancellationToken.None);
        await new MemoryErasures(new StorageClients(Options.Create(new StorageOptions { ConnectionString = Azurite.Instance.ConnectionString })))
            .RecordAsync(_user, DateTimeOffset.UtcNow, CancellationToken.None);

        string key = UserRef.Key(_user);
        Assert.NotEmpty(await RowsAsync(BuiltInMemoryStore.TableName, key));
        Assert.Single(await RowsAsync(MemoryErasures.TableName, key));
    }

    private static async Task<List<TableEntity>> RowsAsync(string table, string partition)
    {
        var rows = new List<TableEntity>();
        await foreach (var row in new TableClient(Azurite.Instance.ConnectionString, table).QueryAsync<TableEntity>(e => e.PartitionKey == partition))
        {
            rows.Add(row);
        }
        return rows;
    }
}
