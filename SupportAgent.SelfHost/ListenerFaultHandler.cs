using System.Runtime.ExceptionServices;
using Microsoft.Azure.WebJobs.Host.Timers;
using SupportAgent.Functions.Storage;

namespace SupportAgent.SelfHost;

/// <summary>
/// Where the WebJobs queue listener reports an exception its background work did not handle (the poll loop, the
/// visibility renewal of a message in progress, the completion of a processed message). Its default ends the process,
/// which a storage outage of half a minute did to every instance at once. A transient storage failure is not a reason
/// to die: the poll loop backs off on its own (<see cref="StorageReachability"/> makes an unreachable account look like
/// the 503 it retries), a message whose completion failed comes back after its visibility timeout, and the outage is
/// logged once by <see cref="StorageReachability"/>. Anything else still ends the process, as before.
/// </summary>
internal sealed class ListenerFaultHandlerFactory(ILogger<ListenerFaultHandler> logger) : IWebJobsExceptionHandlerFactory
{
    public IWebJobsExceptionHandler Create(IHost jobHost) => new ListenerFaultHandler(new WebJobsExceptionHandler(jobHost), logger);
}

internal sealed partial class ListenerFaultHandler(IWebJobsExceptionHandler fallback, ILogger<ListenerFaultHandler> logger) : IWebJobsExceptionHandler
{
    public Task OnTimeoutExceptionAsync(ExceptionDispatchInfo exceptionInfo, TimeSpan timeoutGracePeriod) =>
        fallback.OnTimeoutExceptionAsync(exceptionInfo, timeoutGracePeriod);

    public Task OnUnhandledExceptionAsync(ExceptionDispatchInfo exceptionInfo)
    {
        if (StorageReachability.IsTransient(exceptionInfo.SourceException))
        {
            LogRiddenOut(logger, exceptionInfo.SourceException.GetType().Name);
            return Task.CompletedTask;
        }
        return fallback.OnUnhandledExceptionAsync(exceptionInfo);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Queue listener: a storage call failed transiently ({Error}); the message comes back after its visibility timeout")]
    private static partial void LogRiddenOut(ILogger logger, string error);
}
