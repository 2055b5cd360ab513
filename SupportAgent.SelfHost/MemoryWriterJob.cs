using Microsoft.Azure.WebJobs;
using SupportAgent.Functions.Memory;

namespace SupportAgent.SelfHost;

/// <summary>
/// The WebJobs SDK's binding of the function app's queue-triggered <see cref="MemoryWriterFunction"/>: same queue
/// (the MEMORY_QUEUE_NAME setting), same connection (AzureWebJobsStorage), same function class doing the work.
/// </summary>
public sealed class MemoryWriterJob(MemoryWriterFunction function)
{
    [FunctionName("MemoryWriter")]
    public Task Run(
        [QueueTrigger(MemoryWriterFunction.QueueNameExpression, Connection = Functions.Configuration.SettingNames.Storage)] string message,
        long dequeueCount,
        CancellationToken cancellationToken) =>
        function.Run(message, dequeueCount, cancellationToken);
}
