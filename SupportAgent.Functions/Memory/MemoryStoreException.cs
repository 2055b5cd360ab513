using System.Net.Http;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// A memory store call that failed, whatever the store: Mem0 over HTTP, or the built-in store's storage account or
/// embedding model. Every <see cref="IMemoryStore"/> throws this for a failure of its own (a caller's cancellation stays
/// an <see cref="OperationCanceledException"/>), so the code around the seam never needs to know which store it was.
/// </summary>
public sealed class MemoryStoreException(string message, int? status, bool isTransient, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    /// <summary>The HTTP status the store (Mem0, or the storage account) answered; null when no answer came.</summary>
    public int? Status { get; } = status;

    /// <summary>Whether trying again later can succeed (timeouts, unreachable, 408, 429, 5xx).</summary>
    public bool IsTransient { get; } = isTransient;

    /// <summary>The store's Retry-After on 429/503, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>How it failed, for a log line: the network error or exception kind behind it. Never text or ids.</summary>
    public string Failure => InnerException switch
    {
        HttpRequestException http => http.HttpRequestError.ToString(),
        { } inner => inner.GetType().Name,
        null => "-",
    };

    public static bool IsTransientStatus(int status) => status is 408 or 429 || status >= 500;
}
