using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Telemetry;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.RealHost;

/// <summary>
/// Traces and logs under the real host, which exports OpenTelemetry itself (host.json telemetryMode) next to the
/// worker: the host's request span is the parent of the worker's, one trace still runs through the queue, and the
/// app's own log lines are in the host's output (as with <c>func start</c>) and exported once, by the worker.
/// </summary>
[Collection(RealHostCollection.Name)]
public sealed class RealHostTelemetryTests(RealHostFixture host)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [RealHostFact]
    public async Task The_hosts_request_span_parents_the_workers_and_the_chats_trace_runs_on_through_the_queue()
    {
        string traceId = ActivityTraceId.CreateRandom().ToHexString(), callerSpanId = ActivitySpanId.CreateRandom().ToHexString();
        using var response = await host.PostChatAsync("user-trace", "Where is my order #1234?",
            configure: r => r.Headers.Add("traceparent", $"00-{traceId}-{callerSpanId}-01"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string exchangeId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("exchangeId").GetString()!;

        string process = "process " + host.QueueName;
        var spans = await Eventually.WaitFor(() => Task.FromResult(host.SpansOf(traceId)),
            s => s.Any(x => x.Name == process) && s.Any(x => x.Name == "function Chat") && s.Any(x => x.Kind == OtlpSpan.Server),
            Patience, $"the spans of trace {traceId}");

        var request = Assert.Single(spans, s => s.Kind == OtlpSpan.Server);
        Assert.Equal(callerSpanId, request.ParentSpanId); // the host continues the caller's trace
        Assert.Equal("Chat", request["faas.name"]);
        var invocation = Assert.Single(spans, s => s.Name == "function Chat");
        Assert.Equal(request.SpanId, invocation.ParentSpanId); // ...and its span is the worker's parent
        Assert.NotEqual(request.Service, invocation.Service);
        var turn = Assert.Single(spans, s => s.Name == "chat turn");
        Assert.Equal(invocation.SpanId, turn.ParentSpanId);
        Assert.Equal(exchangeId, turn[SupportAgentTelemetry.ExchangeId]);
        var send = Assert.Single(spans, s => s.Name == "send " + host.QueueName);
        Assert.Equal(turn.SpanId, send.ParentSpanId);

        // Through the queue: the write continues the chat's trace from the message, and links the trigger's invocation.
        var write = Assert.Single(spans, s => s.Name == process);
        Assert.Equal(send.SpanId, write.ParentSpanId);
        Assert.Equal("written", write[SupportAgentTelemetry.WriteOutcome]);
        string triggerSpanId = Assert.Single(write.LinkedSpanIds);
        var trigger = await Eventually.WaitFor(() => Task.FromResult(OtlpExports.Spans(host.Telemetry).FirstOrDefault(s => s.SpanId == triggerSpanId)),
            s => s is not null, Patience, "the queue trigger's invocation span");
        Assert.Equal("function MemoryWriter", trigger!.Name);
    }

    [RealHostFact]
    public async Task The_apps_log_lines_are_in_the_hosts_output_and_exported_once_by_the_worker()
    {
        // The chat path: a refused request.
        using (var refused = await host.Client.SendAsync(FunctionsHostProcess.Request(HttpMethod.Post, "api/chat", FunctionsHostProcess.HostKey,
                   JsonContent.Create(new { userId = "user-logs" }))))
        {
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }
        string rejected = await host.Host.WaitForOutputAsync(l => l.Contains("Chat request refused with 400: messages", StringComparison.Ordinal), Patience, "the app's refusal line");
        Assert.StartsWith("info: Function.Chat.User", host.Host.CategoryLineOf(rejected), StringComparison.Ordinal);

        // The queue path: the memory writer's line, with the user as a hash only.
        string user = "user-logs-" + Guid.NewGuid().ToString("N")[..8];
        string exchangeId = (await host.ChatAsync(user, "My order #1234 has not arrived")).GetProperty("exchangeId").GetString()!;
        string written = await host.Host.WaitForOutputAsync(l => l.Contains($"Exchange {exchangeId} of u_", StringComparison.Ordinal) && l.Contains("written to memory", StringComparison.Ordinal),
            Patience, "the memory writer's line");
        Assert.StartsWith("info: Function.MemoryWriter.User", host.Host.CategoryLineOf(written), StringComparison.Ordinal);
        Assert.DoesNotContain(host.Host.Output, l => l.Contains(user, StringComparison.Ordinal));
        // host.json's levels apply to the worker's categories as well: HttpClient's request lines stay out.
        Assert.DoesNotContain(host.Host.Output, l => l.Contains("Start processing HTTP request", StringComparison.Ordinal));

        // Exported as well (what Application Insights or an OTLP backend receives): once, by the worker.
        var exported = await Eventually.WaitFor(() => Task.FromResult(OtlpExports.Logs(host.Telemetry).Where(l => l["ExchangeId"] == exchangeId && l.Body.Contains("written to memory", StringComparison.Ordinal)).ToList()),
            l => l.Count > 0, Patience, "the exported log record");
        Assert.Equal(typeof(MemoryWriter).FullName, Assert.Single(exported).Category);
        // The host leaves the worker's lines (and its own per-function lines) out of its export: nothing is counted twice.
        Assert.DoesNotContain(OtlpExports.Logs(host.Telemetry), l => l.Category.StartsWith("Function.", StringComparison.Ordinal));
    }
}
