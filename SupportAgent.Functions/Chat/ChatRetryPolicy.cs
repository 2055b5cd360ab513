using System.ClientModel.Primitives;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// Retries a failed model call twice, honouring Retry-After, but never makes the user wait long for it: when the
/// provider asks for more than <see cref="MaxWait"/>, the call fails at once and the client gets 503 with that Retry-After.
/// A stream is retried only until its response starts, as the OpenAI client's pipeline does.
/// </summary>
internal sealed class ChatRetryPolicy() : ClientRetryPolicy(maxRetries: 2)
{
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(3);

    protected override bool ShouldRetry(PipelineMessage message, Exception? exception) =>
        base.ShouldRetry(message, exception) && !(RetryAfter(message.Response) > MaxWait);

    protected override ValueTask<bool> ShouldRetryAsync(PipelineMessage message, Exception? exception) =>
        RetryAfter(message.Response) > MaxWait ? ValueTask.FromResult(false) : base.ShouldRetryAsync(message, exception);

    internal static TimeSpan? RetryAfter(PipelineResponse? response)
    {
        if (response is not null && response.Headers.TryGetValue("Retry-After", out var value))
        {
            if (int.TryParse(value, out int seconds))
            {
                return TimeSpan.FromSeconds(seconds);
            }
            if (DateTimeOffset.TryParse(value, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var date))
            {
                return date - DateTimeOffset.UtcNow;
            }
        }
        return null;
    }
}
