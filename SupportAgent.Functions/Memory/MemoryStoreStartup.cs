using Microsoft.Extensions.AI;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Memory.BuiltIn;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// At start, in the Functions worker and the self host alike: says once which memory store is in use and why, and,
/// for the built-in store, loads the embedding model in the background so the first reply does not wait for it, or
/// waits less (a search that arrives while it loads waits for it: <see cref="MemoryRecall"/>; docs/memory.md has the
/// measurement). With Mem0 the model is never loaded.
/// </summary>
public sealed partial class MemoryStoreStartup(
    IOptions<MemoryStoreOptions> options,
    IEmbeddingGenerator<string, Embedding<float>> embeddings,
    ILogger<MemoryStoreStartup> logger) : IHostedService
{
    private Task _warmup = Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        switch (o.Kind)
        {
            case MemoryStoreKind.BuiltIn:
                LogBuiltIn(logger, o.Reason, BuiltInMemoryStore.TableName);
                if (embeddings is MiniLmEmbeddingGenerator miniLm)
                {
                    _warmup = WarmUpAsync(miniLm);
                }
                break;
            default:
                LogMem0(logger, o.Kind == MemoryStoreKind.Mem0Server ? "self-hosted Mem0 server" : "Mem0 Platform", o.Mem0BaseAddress, o.Reason);
                break;
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => _warmup.WaitAsync(cancellationToken);

    private async Task WarmUpAsync(MiniLmEmbeddingGenerator model)
    {
        try
        {
            await model.WhenLoadedAsync(); // on the thread pool: the host does not wait for it
            LogModelLoaded(logger, MiniLmEmbeddingGenerator.ModelId, model.LoadTime?.TotalMilliseconds ?? 0);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The first search or write will try again and fail visibly there; the reply path degrades as for any store failure.
            LogModelFailed(logger, ex, MiniLmEmbeddingGenerator.ModelId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory: the built-in store ({Reason}): statements embedded in process and kept in the storage account's table '{Table}'. Set MEMORY_STORE=mem0-platform or mem0-server to use Mem0.")]
    private static partial void LogBuiltIn(ILogger logger, string reason, string table);

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory: {Store} at {Url} ({Reason})")]
    private static partial void LogMem0(ILogger logger, string store, Uri url, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Memory: embedding model {Model} loaded in {ElapsedMs:F0} ms")]
    private static partial void LogModelLoaded(ILogger logger, string model, double elapsedMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Memory: the embedding model {Model} could not be loaded")]
    private static partial void LogModelFailed(ILogger logger, Exception exception, string model);
}
