using System.Net;

namespace SupportAgent.Functions.Memory.Mem0;

/// <summary>A Mem0 call that failed. <see cref="IsTransient"/> says whether trying again later can succeed.</summary>
public sealed class Mem0Exception(string message, HttpStatusCode? statusCode, bool isTransient, TimeSpan? retryAfter = null, Exception? inner = null)
    : Exception(message, inner)
{
    public HttpStatusCode? StatusCode { get; } = statusCode;

    public bool IsTransient { get; } = isTransient;

    /// <summary>The server's Retry-After on 429/503, when it sent one.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    internal static bool IsTransientStatus(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;
}
