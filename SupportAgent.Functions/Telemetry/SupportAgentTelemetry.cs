using System.Diagnostics;

namespace SupportAgent.Functions.Telemetry;

/// <summary>
/// The app's own spans (one ActivitySource) and the attribute names they and the metrics use. Attributes carry ids,
/// counts and outcomes only, like the logs: never message text, memories, keys or a raw user id (<c>supportagent.user_ref</c>
/// is <see cref="Identity.UserRef"/>'s hash).
/// </summary>
public static class SupportAgentTelemetry
{
    /// <summary>The name of the ActivitySource and of the Meter.</summary>
    public const string Name = "SupportAgent";

    public static readonly ActivitySource Source = new(Name);

    public const string ExchangeId = "supportagent.exchange_id";
    public const string UserRef = "supportagent.user_ref";
    public const string ChatOutcome = "supportagent.chat.outcome";
    public const string ChatTurns = "supportagent.chat.turns";
    public const string MemoryStore = "supportagent.memory.store";
    public const string MemoryStatus = "supportagent.memory.status";
    public const string MemoryCount = "supportagent.memory.count";
    public const string MemoryBudgetMs = "supportagent.memory.budget_ms";
    public const string MemoryTopK = "supportagent.memory.top_k";
    public const string ClaimCheck = "supportagent.queue.claim_check";
    public const string DequeueCount = "supportagent.queue.dequeue_count";
    public const string WriteOutcome = "supportagent.memory_write.outcome";
    public const string WriteLagSeconds = "supportagent.memory_write.lag_s";
    public const string LimitReason = "supportagent.limit.reason";
    public const string ErrorType = "error.type";

    // OpenTelemetry messaging semantic conventions, for the enqueue and the write.
    public const string MessagingSystem = "messaging.system";
    public const string MessagingDestination = "messaging.destination.name";
    public const string MessagingOperationType = "messaging.operation.type";
    public const string MessagingOperationName = "messaging.operation.name";
    public const string MessagingBodySize = "messaging.message.body.size";

    /// <summary>Storage queues have no registered <c>messaging.system</c> value; this one names them plainly.</summary>
    public const string StorageQueues = "azure.storage.queues";

    /// <summary>Marks a span failed with a fixed error type; never an exception message, which may quote user input.</summary>
    public static void Fail(this Activity? activity, string errorType)
    {
        if (activity is null)
        {
            return;
        }
        activity.SetTag(ErrorType, errorType);
        activity.SetStatus(ActivityStatusCode.Error, errorType);
    }
}
