using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Storage;

namespace SupportAgent.Functions.Startup;

/// <summary>
/// What every host does before it serves: create the memory-writes queue, its poison queue and the payload container
/// (so the queue trigger never polls a missing queue), and warm up the chat path. The self host calls
/// <see cref="PrepareAsync"/> and stops on a storage failure; the function app runs this as a hosted service, which
/// logs the failure and goes on (the queue is created on first use too).
/// </summary>
public sealed partial class StartupWork(MemoryWriteQueue queue, ChatPathWarmup warmup, ILogger<StartupWork> logger) : IHostedService
{
    private static readonly TimeSpan StorageTimeout = TimeSpan.FromSeconds(20);

    /// <exception cref="StorageUnavailableException">The storage account cannot be reached or refuses the credentials.</exception>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StorageTimeout);
        await Task.WhenAll(queue.EnsureCreatedAsync(timeout.Token), warmup.RunAsync(cancellationToken));
    }

    async Task IHostedService.StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await PrepareAsync(cancellationToken);
        }
        catch (StorageUnavailableException ex)
        {
            LogStorageUnavailable(logger, ex.Message);
        }
    }

    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Error, Message = "Memory writes cannot be queued: {Problem}")]
    private static partial void LogStorageUnavailable(ILogger logger, string problem);
}
