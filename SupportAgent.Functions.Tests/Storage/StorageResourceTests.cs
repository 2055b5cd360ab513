using Azure;
using SupportAgent.Functions.Storage;

namespace SupportAgent.Functions.Tests.Storage;

/// <summary>A table (queue, container) found missing is created again once per loss, not once per request that saw it missing.</summary>
public sealed class StorageResourceTests
{
    [Fact]
    public async Task Concurrent_calls_that_all_find_the_table_gone_create_it_once_and_all_succeed()
    {
        int creations = 0;
        bool exists = false;
        var resource = new StorageResource(async _ =>
        {
            await Task.Yield();
            Interlocked.Increment(ref creations);
            Volatile.Write(ref exists, true);
        });
        await resource.EnsureAsync(CancellationToken.None);
        Volatile.Write(ref exists, false); // deleted under the running instance

        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            await start.Task;
            return await resource.RunAsync(async () =>
            {
                await Task.Yield();
                return Volatile.Read(ref exists) ? "written" : throw new RequestFailedException(404, "The table specified does not exist.", "TableNotFound", null);
            }, CancellationToken.None);
        })).ToArray();
        start.SetResult();

        Assert.All(await Task.WhenAll(calls), r => Assert.Equal("written", r));
        Assert.Equal(2, creations); // at the start, and once after the loss
    }

    [Fact]
    public async Task A_missing_row_or_message_is_not_a_missing_table()
    {
        int creations = 0;
        var resource = new StorageResource(_ => { creations++; return Task.CompletedTask; });

        await Assert.ThrowsAsync<RequestFailedException>(() => resource.RunAsync<bool>(
            () => throw new RequestFailedException(404, "Not found.", "ResourceNotFound", null), CancellationToken.None));

        Assert.Equal(1, creations);
    }
}
