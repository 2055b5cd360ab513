using Microsoft.Azure.Functions.Worker;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// Queue trigger on the memory-writes queue (name from the MEMORY_QUEUE_NAME setting): hands each message, with the
/// trigger's DequeueCount metadata (bound by parameter name), to <see cref="MemoryWriter"/>.
/// </summary>
public sealed class MemoryWriterFunction(MemoryWriter writer)
{
    public const string QueueNameExpression = "%" + Configuration.SettingNames.MemoryQueueName + "%";

    [Function("MemoryWriter")]
    public Task Run(
        [QueueTrigger(QueueNameExpression, Connection = Configuration.SettingNames.Storage)] string message,
        long dequeueCount,
        CancellationToken cancellationToken) =>
        writer.WriteAsync(message, dequeueCount, cancellationToken);
}
