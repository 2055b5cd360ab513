using System.Net.Sockets;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace SupportAgent.Functions.Storage;

/// <summary>
/// A pipeline policy on every storage client of the app (and, in the self host, on the WebJobs queue listener's):
/// when the account cannot be reached at all (refused connections, network timeouts, after the client's own retries),
/// the call fails with one <see cref="RequestFailedException"/> of status 503 instead of the SDK's
/// <see cref="AggregateException"/> of attempts. Callers then see an ordinary transient storage failure: the memory routes
/// answer 503, and the WebJobs listener backs off and polls again (it treats 5xx as transient but lets anything else
/// end its polling loop, which in the self host ended the process). It also logs once per change of state, not per call.
/// </summary>
public sealed partial class StorageReachability(ILogger<StorageReachability> logger, TimeProvider timeProvider) : HttpPipelinePolicy
{
    public const string ErrorCode = "StorageUnreachable";

    private long _downSince; // ticks of the first failure of the current outage; 0 while reachable

    /// <summary>Whether the last call reached the account (a response of any status counts).</summary>
    public bool IsReachable => Interlocked.Read(ref _downSince) == 0;

    public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        try
        {
            ProcessNext(message, pipeline);
        }
        catch (Exception ex) when (IsUnreachable(ex) && !message.CancellationToken.IsCancellationRequested)
        {
            throw Unreachable(message, ex);
        }
        Reached();
    }

    public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
    {
        try
        {
            await ProcessNextAsync(message, pipeline).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsUnreachable(ex) && !message.CancellationToken.IsCancellationRequested)
        {
            throw Unreachable(message, ex);
        }
        Reached();
    }

    /// <summary>No answer at all: connection refused or reset, DNS, a network timeout; or the SDK's retries of those.</summary>
    public static bool IsUnreachable(Exception ex) => ex switch
    {
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsUnreachable),
        RequestFailedException { Status: 0 } failed => failed.InnerException is null || IsUnreachable(failed.InnerException),
        RequestFailedException => false,
        HttpRequestException or SocketException or IOException or TimeoutException => true,
        OperationCanceledException => true, // the client's network timeout (a caller's cancellation is excluded above)
        _ => false,
    };

    /// <summary>Whether trying again later can succeed: unreachable, throttled, or a server error.</summary>
    public static bool IsTransient(Exception ex) => ex switch
    {
        RequestFailedException { Status: 408 or 429 or >= 500 } => true,
        AggregateException aggregate => aggregate.InnerExceptions.Count > 0 && aggregate.InnerExceptions.All(IsTransient),
        _ => IsUnreachable(ex),
    };

    private RequestFailedException Unreachable(HttpMessage message, Exception ex)
    {
        long now = timeProvider.GetUtcNow().UtcTicks;
        if (Interlocked.CompareExchange(ref _downSince, now, 0) == 0)
        {
            LogUnreachable(logger, message.Request.Uri.Host ?? "-", message.Request.Uri.Port, Failure(ex));
        }
        return new RequestFailedException(503, "The storage account could not be reached.", ErrorCode, ex);
    }

    private void Reached()
    {
        long since = Interlocked.Exchange(ref _downSince, 0);
        if (since != 0)
        {
            LogReachable(logger, Math.Round((timeProvider.GetUtcNow().UtcTicks - since) / (double)TimeSpan.TicksPerSecond, 1));
        }
    }

    private static string Failure(Exception ex) => ex switch
    {
        AggregateException { InnerExceptions.Count: > 0 } aggregate => Failure(aggregate.InnerExceptions[^1]),
        { InnerException: SocketException socket } => socket.SocketErrorCode.ToString(),
        { InnerException: HttpRequestException http } => http.HttpRequestError.ToString(),
        HttpRequestException http => http.HttpRequestError.ToString(),
        { InnerException: { } inner } when ex is RequestFailedException => Failure(inner),
        _ => ex.GetType().Name,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Storage at {Host}:{Port} cannot be reached ({Failure}): chats go on without memory, memory routes answer 503, queued writes wait; logged again when it is back")]
    private static partial void LogUnreachable(ILogger logger, string host, int port, string failure);

    [LoggerMessage(Level = LogLevel.Information, Message = "Storage is reachable again after {Seconds} s")]
    private static partial void LogReachable(ILogger logger, double seconds);
}
