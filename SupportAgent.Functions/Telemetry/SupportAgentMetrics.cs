using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SupportAgent.Functions.Telemetry;

/// <summary>Outcomes of one chat request, as counted by <c>supportagent.chat.requests</c>.</summary>
public static class ChatOutcomes
{
    public const string Ok = "ok";
    public const string Rejected = "rejected";
    public const string ModelError = "model_error";
    public const string Error = "error";
    public const string Cancelled = "cancelled";

    /// <summary>Refused by a per-user limit (429), before any memory search or model call.</summary>
    public const string Limited = "limited";
}

/// <summary>Outcomes of one delivery of a memory write message, as counted by <c>supportagent.memory.writes</c>.</summary>
public static class WriteOutcomes
{
    /// <summary>The exchange reached the memory store.</summary>
    public const string Written = "written";

    /// <summary>A redelivery of an exchange written before (its claim-check payload is already gone).</summary>
    public const string AlreadyWritten = "already_written";

    /// <summary>Dropped: the user asked to be forgotten after the exchange was made (an erasure record), so it is never written.</summary>
    public const string Forgotten = "forgotten";

    /// <summary>This try failed; the queue delivers the message again after its visibility timeout.</summary>
    public const string Retried = "retried";

    /// <summary>The last allowed try failed: the runtime moves the message to the poison queue.</summary>
    public const string Poisoned = "poisoned";
}

/// <summary>
/// The app's OpenTelemetry metrics (Meter "SupportAgent", created through the host's IMeterFactory). Recorded whether or
/// not anything exports them: without a listener an instrument costs a branch.
/// </summary>
public sealed class SupportAgentMetrics
{
    private readonly Counter<long> _chats;
    private readonly Histogram<double> _searchDuration;
    private readonly Counter<long> _writes;
    private readonly Histogram<double> _writeLag;
    private readonly Counter<long> _limitRefusals;
    private readonly Counter<long> _limitUnchecked;

    public SupportAgentMetrics(IMeterFactory meterFactory)
        : this(meterFactory.Create(SupportAgentTelemetry.Name))
    {
    }

    private SupportAgentMetrics(Meter meter)
    {
        _chats = meter.CreateCounter<long>("supportagent.chat.requests", "{request}",
            "Chat requests by outcome: ok, rejected (bad input), limited (a per-user limit), model_error, error, cancelled.");
        _searchDuration = meter.CreateHistogram<double>("supportagent.memory.search.duration", "s",
            "Memory searches on the chat path by status (ok, timeout, unavailable): how long the reply waited for memory.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10] });
        _writes = meter.CreateCounter<long>("supportagent.memory.writes", "{delivery}",
            "Deliveries of memory write messages by outcome: written, already_written, forgotten, retried, poisoned.");
        _writeLag = meter.CreateHistogram<double>("supportagent.memory.write.lag", "s",
            "From the exchange's reply to its memory write: queue wait, retries and the store's own time.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600] });
        _limitRefusals = meter.CreateCounter<long>("supportagent.limits.refused", "{request}",
            "Chat requests refused by a per-user limit, by reason: rate (USER_REQUESTS_PER_MINUTE) or quota (USER_TOKENS_PER_DAY).");
        _limitUnchecked = meter.CreateCounter<long>("supportagent.limits.unchecked", "{request}",
            "Chat requests admitted without a limit check because the storage account failed (limits fail open).");
    }

    /// <summary>Metrics no pipeline listens to (a meter of another name), for work that is not traffic, such as the start-up warm-up.</summary>
    public static SupportAgentMetrics Unobserved() => new(new Meter(SupportAgentTelemetry.Name + ".Unobserved"));

    public void ChatCompleted(string outcome) =>
        _chats.Add(1, new KeyValuePair<string, object?>(SupportAgentTelemetry.ChatOutcome, outcome));

    public void MemorySearched(string status, string store, TimeSpan elapsed) =>
        _searchDuration.Record(elapsed.TotalSeconds,
            new KeyValuePair<string, object?>(SupportAgentTelemetry.MemoryStatus, status),
            new KeyValuePair<string, object?>(SupportAgentTelemetry.MemoryStore, store));

    public void MemoryWriteFinished(string outcome, string store)
    {
        var tags = new TagList
        {
            { SupportAgentTelemetry.WriteOutcome, outcome },
            { SupportAgentTelemetry.MemoryStore, store },
        };
        _writes.Add(1, tags);
    }

    public void LimitRefused(string reason) =>
        _limitRefusals.Add(1, new KeyValuePair<string, object?>(SupportAgentTelemetry.LimitReason, reason));

    public void LimitUnchecked() => _limitUnchecked.Add(1);

    public void MemoryWritten(TimeSpan lag, string store) =>
        _writeLag.Record(Math.Max(0, lag.TotalSeconds), new KeyValuePair<string, object?>(SupportAgentTelemetry.MemoryStore, store));
}
