using System.Diagnostics;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// The "chat turn" span of one turn and its count in <c>supportagent.chat.requests</c>, whole or streamed: a stream's turn
/// ends after the function has returned, when the last text is written, so the span is ended explicitly, once.
/// Tags hold ids and counts only: the exchange id, the hashed user reference, turn and memory counts, the outcome.
/// </summary>
internal sealed class ChatTurnTelemetry
{
    /// <summary>Not "chat": that is the GenAI conventions' name for the model call ("chat gpt-4o-mini"), a child of this span.</summary>
    public const string SpanName = "chat turn";

    private readonly Activity? _activity;
    private readonly SupportAgentMetrics _metrics;
    private int _ended;

    private ChatTurnTelemetry(Activity? activity, SupportAgentMetrics metrics)
    {
        _activity = activity;
        _metrics = metrics;
    }

    public static ChatTurnTelemetry Start(SupportAgentMetrics metrics, string exchangeId, ChatRequest request)
    {
        var activity = SupportAgentTelemetry.Source.StartActivity(SpanName);
        activity?.SetTag(SupportAgentTelemetry.ExchangeId, exchangeId);
        activity?.SetTag(SupportAgentTelemetry.UserRef, UserRef.For(request.UserId));
        activity?.SetTag(SupportAgentTelemetry.ChatTurns, request.Messages.Count);
        return new ChatTurnTelemetry(activity, metrics);
    }

    public void Recalled(RecalledMemories memories)
    {
        _activity?.SetTag(SupportAgentTelemetry.MemoryStatus, memories.Status.Name());
        _activity?.SetTag(SupportAgentTelemetry.MemoryCount, memories.Facts.Count);
    }

    public void Succeeded() => End(ChatOutcomes.Ok, null);

    public void Failed(Exception exception, CancellationToken cancellationToken) => End(
        exception switch
        {
            ModelException => ChatOutcomes.ModelError,
            Limits.LimitExceededException => ChatOutcomes.Limited,
            OperationCanceledException when cancellationToken.IsCancellationRequested => ChatOutcomes.Cancelled,
            _ => ChatOutcomes.Error,
        },
        exception switch
        {
            ModelException model => "model_" + model.Failure.ToString().ToLowerInvariant(),
            Limits.LimitExceededException => null, // the service working as configured, not a failure
            OperationCanceledException when cancellationToken.IsCancellationRequested => null, // the client's choice, not a failure
            _ => exception.GetType().Name,
        });

    /// <summary>Makes this turn's span the current one until disposed, for work done after the turn's own method returned.</summary>
    public IDisposable? AsCurrent()
    {
        if (_activity is null)
        {
            return null;
        }
        var previous = Activity.Current;
        Activity.Current = _activity;
        return new Restore(previous);
    }

    private void End(string outcome, string? errorType)
    {
        if (Interlocked.Exchange(ref _ended, 1) == 1)
        {
            return;
        }
        _metrics.ChatCompleted(outcome);
        if (_activity is null)
        {
            return;
        }
        _activity.SetTag(SupportAgentTelemetry.ChatOutcome, outcome);
        if (errorType is not null)
        {
            _activity.Fail(errorType);
        }
        _activity.Stop();
    }

    private sealed class Restore(Activity? previous) : IDisposable
    {
        public void Dispose() => Activity.Current = previous;
    }
}
