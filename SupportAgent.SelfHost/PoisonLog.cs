using Microsoft.Azure.WebJobs.Host.Queues;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Memory;

namespace SupportAgent.SelfHost;

/// <summary>
/// The queue listener's processor, plus one error line when a memory write has used up its tries and moves to the
/// poison queue (each try has logged its own line already; the listener's own lines carry stack traces and are off).
/// </summary>
internal sealed partial class PoisonLog(ILogger<PoisonLog> logger) : IQueueProcessorFactory
{
    public QueueProcessor Create(QueueProcessorOptions queueProcessorOptions)
    {
        var processor = new Processor(queueProcessorOptions);
        processor.MessageAddedToPoisonQueueAsync += (sender, e) =>
        {
            if (MemoryWriteMessage.TryParse(e.Message.Body.ToString(), out var message, out _))
            {
                LogPoisoned(logger, message.Id, UserRef.For(message.UserId), e.Message.DequeueCount, e.PoisonQueue.Name);
            }
            else
            {
                LogUnreadablePoisoned(logger, e.Message.MessageId, e.Message.DequeueCount, e.PoisonQueue.Name);
            }
            return Task.CompletedTask;
        };
        return processor;
    }

    /// <summary>The listener's own processor, unchanged (its constructor is for subclasses only).</summary>
    private sealed class Processor(QueueProcessorOptions options) : QueueProcessor(options);

    [LoggerMessage(Level = LogLevel.Error, Message = "Exchange {ExchangeId} of {UserRef} failed {Tries} times and was moved to {PoisonQueue}, intact; replay it from there once the cause is fixed")]
    private static partial void LogPoisoned(ILogger logger, string exchangeId, string userRef, long tries, string poisonQueue);

    [LoggerMessage(Level = LogLevel.Error, Message = "Queue message {MessageId} could not be processed in {Tries} tries and was moved to {PoisonQueue}, intact")]
    private static partial void LogUnreadablePoisoned(ILogger logger, string messageId, long tries, string poisonQueue);
}
