using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Middleware;
using Microsoft.Extensions.Logging;

namespace SupportAgent.Functions.Telemetry;

/// <summary>
/// Puts the invocation id into the logging scope of every function invocation, under the key the worker's gRPC log
/// writer looks for, so the Functions host shows the app's log lines (<c>func start</c>'s console, the log stream).
/// <para>
/// Why: the host writes a worker's log line only when it names a running invocation; the worker takes that id from
/// the scope <c>AzureFunctions_InvocationId</c>. <c>UseFunctionsWorkerDefaults()</c> (Worker.OpenTelemetry 1.2.0)
/// switches the worker to the OpenTelemetry 1.37 conventions, whose scope has only <c>faas.invocation_id</c>, so
/// every app log line was dropped by the host (azure-functions-dotnet-worker issue 3489). Exporters are unaffected:
/// the worker still sends its logs to Application Insights / OTLP itself, and the host leaves the worker's lines out
/// of its own export then, so nothing is counted twice. The real-host tests check both halves.
/// </para>
/// </summary>
internal sealed class HostLogCorrelation(ILoggerFactory loggers) : IFunctionsWorkerMiddleware
{
    /// <summary>The worker's own key (TraceConstants.InternalKeys.FunctionInvocationId, internal there).</summary>
    public const string InvocationIdKey = "AzureFunctions_InvocationId";

    private readonly ILogger _logger = loggers.CreateLogger("SupportAgent");

    public async Task Invoke(FunctionContext context, FunctionExecutionDelegate next)
    {
        using (_logger.BeginScope(new Dictionary<string, object> { [InvocationIdKey] = context.InvocationId }))
        {
            await next(context);
        }
    }
}
