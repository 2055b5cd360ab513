using Microsoft.Azure.Functions.Worker;

namespace SupportAgent.Functions.Memory;

/// <summary>Queue trigger on the memory-writes queue (name from the MEMORY_QUEUE_NAME setting): hands each message to <see cref="MemoryWriter"/>.</summary>
public sealed class MemoryWriterFunction(MemoryWriter writer)
{
    public const string QueueNameExpression = "%" + Configuration.SettingNames.MemoryQueueName + "%";

    [Function("MemoryWriter")]
    public Task Run(
        [QueueTrigger(QueueNameExpression, Connection = Configuration.SettingNames.Storage)] string message,
        CancellationToken cancellationToken) =>
        writer.WriteAsync(message, cancellationToken);
}
