namespace SupportAgent.Functions.Limits;

/// <summary>Which limit refused a request, as a metric tag and in the problem response.</summary>
public static class LimitReasons
{
    /// <summary>USER_REQUESTS_PER_MINUTE.</summary>
    public const string Rate = "rate";

    /// <summary>USER_TOKENS_PER_DAY.</summary>
    public const string Quota = "quota";
}

/// <summary>
/// A request refused by a per-user limit, before anything was spent on it: thrown by the turn before its model call, so
/// the function answers 429 (a streamed request too: the stream has not begun).
/// </summary>
public sealed class LimitExceededException(string reason, long limit, TimeSpan retryAfter)
    : Exception($"Per-user {reason} limit of {limit} reached; retry after {retryAfter}.")
{
    public string Reason { get; } = reason;

    /// <summary>Requests per minute or tokens per day.</summary>
    public long Limit { get; } = limit;

    /// <summary>Until a request would be admitted: the end of the minute (rate) or the next UTC midnight (quota).</summary>
    public TimeSpan RetryAfter { get; } = retryAfter;

    /// <summary>Retry-After in whole seconds, rounded up, at least 1.</summary>
    public int RetryAfterSeconds => Math.Max(1, (int)Math.Ceiling(RetryAfter.TotalSeconds));
}
