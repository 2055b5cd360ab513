using Azure;

namespace SupportAgent.Functions.Storage;

/// <summary>
/// A table, queue or blob container the app creates on first use, and creates again when a call finds it missing
/// (deleted under a running instance, a fresh account, a restarted emulator): once per loss, not once per request,
/// and the call that found it missing is tried once more.
/// </summary>
public sealed class StorageResource(Func<CancellationToken, Task> createIfNotExists)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Lock _state = new();
    private int _generation; // counts creations; a "missing" seen before the latest creation is already handled
    private volatile bool _exists;

    /// <summary>Creates it unless this instance already knows it exists.</summary>
    public async Task<int> EnsureAsync(CancellationToken cancellationToken)
    {
        if (_exists)
        {
            return Volatile.Read(ref _generation);
        }
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!_exists)
            {
                await createIfNotExists(cancellationToken);
                lock (_state)
                {
                    _generation++;
                    _exists = true;
                }
            }
            return Volatile.Read(ref _generation);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs <paramref name="call"/> with the resource there; if storage says it is gone, creates it and runs the call once more.</summary>
    public async Task<T> RunAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        int generation = await EnsureAsync(cancellationToken);
        try
        {
            return await call();
        }
        catch (RequestFailedException ex) when (IsMissing(ex))
        {
            Lost(generation);
            await EnsureAsync(cancellationToken);
            return await call();
        }
    }

    public async Task RunAsync(Func<Task> call, CancellationToken cancellationToken) =>
        await RunAsync(async () => { await call(); return true; }, cancellationToken);

    /// <summary>Forgets that it exists, unless it was created again since <paramref name="generation"/>.</summary>
    public void Lost(int generation)
    {
        lock (_state)
        {
            if (_generation == generation)
            {
                _exists = false;
            }
        }
    }

    /// <summary>The table, queue or container itself is missing (not just the entity, message or blob asked for).</summary>
    public static bool IsMissing(RequestFailedException ex) =>
        ex.Status == 404 && ex.ErrorCode is "TableNotFound" or "QueueNotFound" or "ContainerNotFound";
}
