using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Storage;

namespace SupportAgent.Functions.Startup;

/// <summary>
/// What every host does before it serves: create the memory-writes queue, its poison queue and the payload container
/// (so the queue trigger never polls a missing queue), and warm up the chat path. The self host runs the two side by
/// side with its own start (the listener waits only for the queues, the server only for the warm-up) and stops on a
/// storage failure; the function app runs <see cref="PrepareAsync"/> as a hosted service, which logs a storage failure
/// and goes on (the queue is created on first use too).
/// </summary>
public sealed partial class StartupWork(MemoryWriteQueue queue, ChatPathWarmup warmup, ILogger<StartupWork> logger) : IHostedService
{
    private static readonly TimeSpan StorageTimeout = TimeSpan.FromSeconds(20);
    private readonly Lazy<Task> _warmup = new(() => Task.Run(() => warmup.RunAsync(CancellationToken.None)));

    /// <summary>Starts the warm-up the first time it is called; the task completes when it is done and never fails.</summary>
    public Task WarmUpAsync() => _warmup.Value;

    /// <exception cref="StorageUnavailableException">The storage account cannot be reached or refuses the credentials.</exception>
    public async Task EnsureStorageAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StorageTimeout);
        await queue.EnsureCreatedAsync(timeout.Token);
    }

    /// <summary>Both, side by side.</summary>
    /// <exception cref="StorageUnavailableException">The storage account cannot be reached or refuses the credentials.</exception>
    public Task PrepareAsync(CancellationToken cancellationToken) => Task.WhenAll(EnsureStorageAsync(cancellationToken), WarmUpAsync());

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
