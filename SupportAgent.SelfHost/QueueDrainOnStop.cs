using Microsoft.Azure.WebJobs.Host;

namespace SupportAgent.SelfHost;

/// <summary>
/// On SIGTERM or Ctrl-C: the queue listener stops taking messages, and writes already in progress finish (within the
/// host's shutdown window) instead of being cancelled. Without it the WebJobs host cancels them at once, and each comes
/// back only after its visibility timeout. Registered after the WebJobs host, so it stops before it.
/// </summary>
internal sealed partial class QueueDrainOnStop(IDrainModeManager drainMode, ILogger<QueueDrainOnStop> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var started = TimeProvider.System.GetTimestamp();
        await drainMode.EnableDrainModeAsync(cancellationToken);
        LogDrained(logger, Math.Round(TimeProvider.System.GetElapsedTime(started).TotalSeconds, 1));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: the queue listener took no new messages and its writes in progress finished ({Seconds} s)")]
    private static partial void LogDrained(ILogger logger, double seconds);
}
