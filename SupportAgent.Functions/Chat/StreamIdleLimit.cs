using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// Ends a model stream that stops sending: when no update follows the last one for <c>MODEL_STREAM_IDLE_SECONDS</c>, the provider's
/// call is cancelled and a <see cref="TimeoutException"/> is thrown (the failure classifier makes it a timeout the client
/// is told about). The provider's own timeout (<c>OPENAI_TIMEOUT_SECONDS</c>) covers only the wait for its first byte,
/// so without this a stalled stream would hold the client, a connection and the turn until the model gave up.
/// </summary>
public sealed partial class StreamIdleLimit(IChatClient innerClient, TimeSpan idleLimit, TimeProvider timeProvider, ILogger<StreamIdleLimit> logger)
    : DelegatingChatClient(innerClient)
{
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var idle = new CancellationTokenSource(Timeout.InfiniteTimeSpan, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, idle.Token);
        var updates = base.GetStreamingResponseAsync(messages, options, linked.Token).GetAsyncEnumerator(linked.Token);
        await using (updates)
        {
            int received = 0;
            while (true)
            {
                if (received > 0) // until the first update, the provider's own timeout applies
                {
                    idle.CancelAfter(idleLimit);
                }
                bool more;
                try
                {
                    more = await updates.MoveNextAsync();
                }
                catch (Exception ex) when (idle.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    LogIdle(logger, idleLimit.TotalSeconds, received);
                    throw new TimeoutException($"The model's stream sent nothing for {idleLimit.TotalSeconds:0} s.", ex);
                }
                idle.CancelAfter(Timeout.InfiniteTimeSpan);
                if (!more)
                {
                    yield break;
                }
                received++;
                yield return updates.Current;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model stream sent nothing for {IdleSeconds} s after {Updates} updates; ended it (MODEL_STREAM_IDLE_SECONDS)")]
    private static partial void LogIdle(ILogger logger, double idleSeconds, int updates);
}
