using Microsoft.Extensions.Logging;
using Polly;

namespace SupportAgent.Functions.Memory.Mem0;

/// <summary>
/// One line per failed Mem0 attempt and per circuit opening: the operation, the attempt and how it failed (exception
/// type or HTTP status). No stack trace, no path or query (they can hold a user id).
/// </summary>
internal static partial class Mem0ResilienceLog
{
    public const string Category = "SupportAgent.Functions.Memory.Mem0.Resilience";

    public static void Retrying(ILogger logger, HttpRequestMessage? request, int attempt, Outcome<HttpResponseMessage> outcome, TimeSpan delay) =>
        LogRetrying(logger, Operation(request), attempt, Describe(outcome), delay.TotalMilliseconds);

    public static void CircuitOpened(ILogger logger, HttpRequestMessage? request, TimeSpan breakDuration, Outcome<HttpResponseMessage> outcome) =>
        LogCircuitOpened(logger, Operation(request), breakDuration.TotalSeconds, Describe(outcome));

    private static string Operation(HttpRequestMessage? request) => request switch
    {
        null => "call",
        _ when ServiceRegistration.Mem0PipelineKey(request) == "search" => "search",
        _ when ServiceRegistration.IsAdd(request) => "add",
        { Method.Method: "DELETE" } => "delete",
        _ => "read",
    };

    private static string Describe(Outcome<HttpResponseMessage> outcome) => outcome.Exception switch
    {
        HttpRequestException http => $"{http.HttpRequestError}",
        { } ex => ex.GetType().Name,
        null => $"HTTP {(int?)outcome.Result?.StatusCode}",
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mem0 {Operation} attempt {Attempt} failed ({Failure}); retrying in {DelayMs:F0} ms")]
    private static partial void LogRetrying(ILogger logger, string operation, int attempt, string failure, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mem0 {Operation} calls now fail at once for {BreakSeconds:F0} s: too many recent failures (last: {Failure})")]
    private static partial void LogCircuitOpened(ILogger logger, string operation, double breakSeconds, string failure);
}
