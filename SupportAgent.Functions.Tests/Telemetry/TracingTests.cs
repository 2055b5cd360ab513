using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using SupportAgent.Fakes;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Telemetry;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Telemetry;

/// <summary>
/// One trace per chat, over real HTTP and the real queue: the request, the memory search, the model call and the
/// enqueue, then the memory write continuing the same trace from the traceparent the message carries.
/// </summary>
public sealed class TracingTests
{
    // Unique per test class run: erasure records ("forget me") live in the storage account all tests share.
    private static readonly string User = "user-" + Guid.NewGuid().ToString("N")[..8];

    private static readonly TimeSpan WriteTimeout = TimeSpan.FromSeconds(60);

    private static async Task<string> ExchangeIdOf(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("exchangeId").GetString()!;
    }

    private static Task<HttpResponseMessage> PostWithTraceparentAsync(TestService app, string traceparent, string userId, string text)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/chat")
        {
            Content = JsonContent.Create(new { userId, messages = new[] { new { role = "user", content = text } } }),
        };
        request.Headers.Add("traceparent", traceparent);
        return app.Client.SendAsync(request);
    }

    private static ActivityTraceId TraceIdOf(string? traceparent)
    {
        Assert.True(ActivityContext.TryParse(traceparent, null, out var context), $"not a W3C traceparent: '{traceparent}'");
        return context.TraceId;
    }

    [Fact]
    public async Task One_chat_is_one_trace_from_the_request_to_the_memory_write()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { RunQueueListener = true, CaptureTelemetry = true });
        app.Mem0.Seed(User, "Order #1234 has not arrived");

        using var response = await app.PostChatAsync(User, ("user", "Any news on my order?"));
        string exchangeId = await ExchangeIdOf(response);

        var write = await app.Telemetry.WaitForAsync("process " + app.QueueName, exchangeId, WriteTimeout);
        var chat = app.Telemetry.Find("chat turn", exchangeId)!;
        var send = app.Telemetry.Find("send " + app.QueueName, exchangeId)!;
        var trace = app.Telemetry.SpansOf(chat.TraceId);

        // One trace: request → chat → (memory search, model call, send) → process (the memory write) → Mem0 add.
        var server = Assert.Single(trace, s => s.SpanId == chat.ParentSpanId);
        Assert.Equal(ActivityKind.Server, server.Kind);
        Assert.Equal("/api/chat", server.GetTagItem("url.path"));
        Assert.Equal(chat.SpanId, send.ParentSpanId);
        Assert.Equal(ActivityKind.Producer, send.Kind);
        Assert.Equal(chat.TraceId, write.TraceId);
        Assert.Equal(send.SpanId, write.ParentSpanId);
        Assert.Equal(ActivityKind.Consumer, write.Kind);

        var search = Assert.Single(trace, s => s.DisplayName == "memory search");
        Assert.Equal(chat.SpanId, search.ParentSpanId);
        Assert.Equal("ok", search.GetTagItem(SupportAgentTelemetry.MemoryStatus));
        Assert.Equal(1, search.GetTagItem(SupportAgentTelemetry.MemoryCount));
        Assert.Equal(1000, search.GetTagItem(SupportAgentTelemetry.MemoryBudgetMs));
        Assert.Equal("Mem0PlatformClient", search.GetTagItem(SupportAgentTelemetry.MemoryStore));
        Assert.Contains(trace, s => s.Kind == ActivityKind.Client && s.ParentSpanId == search.SpanId); // the Mem0 search request
        var model = Assert.Single(trace, s => s.DisplayName == "chat gpt-4o-mini"); // the GenAI conventions' model call span
        Assert.Equal(chat.SpanId, model.ParentSpanId);
        Assert.Equal("gpt-4o-mini", model.GetTagItem("gen_ai.request.model"));
        Assert.True(Convert.ToInt32(model.GetTagItem("gen_ai.usage.input_tokens")) > 0);
        Assert.True(Convert.ToInt32(model.GetTagItem("gen_ai.usage.output_tokens")) > 0);
        Assert.Contains(trace, s => s.Kind == ActivityKind.Client && s.ParentSpanId == model.SpanId
            && (s.GetTagItem("url.full") as string ?? "").EndsWith("/chat/completions", StringComparison.Ordinal)); // its HTTP request

        Assert.Equal("ok", chat.GetTagItem(SupportAgentTelemetry.ChatOutcome));
        Assert.Equal(UserRef.For(User), chat.GetTagItem(SupportAgentTelemetry.UserRef));
        Assert.Equal(app.QueueName, send.GetTagItem(SupportAgentTelemetry.MessagingDestination));
        Assert.Equal(false, send.GetTagItem(SupportAgentTelemetry.ClaimCheck));
        Assert.True((int)send.GetTagItem(SupportAgentTelemetry.MessagingBodySize)! > 0);

        Assert.Equal(WriteOutcomes.Written, write.GetTagItem(SupportAgentTelemetry.WriteOutcome));
        Assert.Equal(1L, write.GetTagItem(SupportAgentTelemetry.DequeueCount));
        Assert.Equal("Mem0PlatformClient", write.GetTagItem(SupportAgentTelemetry.MemoryStore));
        Assert.True((double)write.GetTagItem(SupportAgentTelemetry.WriteLagSeconds)! >= 0);
        await Eventually.WaitFor(() => app.Telemetry.SpansOf(chat.TraceId).Any(s => s.Kind == ActivityKind.Client && s.ParentSpanId == write.SpanId),
            TimeSpan.FromSeconds(10), "the Mem0 add request's span under the write");
    }

    [Fact]
    public async Task A_callers_traceparent_is_continued_to_mem0_the_model_and_the_memory_write()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { RunQueueListener = true, CaptureTelemetry = true });
        var callerTrace = ActivityTraceId.CreateRandom();
        var callerSpan = ActivitySpanId.CreateRandom();

        using var response = await PostWithTraceparentAsync(app, $"00-{callerTrace}-{callerSpan}-01", User, "Hello");
        string exchangeId = await ExchangeIdOf(response);
        await app.Mem0.WaitForAddsAsync(1, WriteTimeout);

        Assert.Equal(callerTrace, TraceIdOf(Assert.Single(app.Mem0.RequestsFor(Mem0Operation.Search)).TraceParent));
        Assert.Equal(callerTrace, TraceIdOf(Assert.Single(app.Model.Requests.ToList()).TraceParent));
        Assert.Equal(callerTrace, TraceIdOf(Assert.Single(app.Mem0.RequestsFor(Mem0Operation.Add)).TraceParent));
        var server = Assert.Single(app.Telemetry.SpansOf(callerTrace), s => s.Kind == ActivityKind.Server && s.ParentSpanId == callerSpan);
        Assert.Equal("/api/chat", server.GetTagItem("url.path"));
        Assert.Equal(callerTrace, (await app.Telemetry.WaitForAsync("process " + app.QueueName, exchangeId, WriteTimeout)).TraceId);
    }

    [Fact]
    public async Task With_no_exporter_configured_chats_and_writes_work_and_traceparent_still_reaches_the_upstreams()
    {
        // No APPLICATIONINSIGHTS_CONNECTION_STRING, no OTEL_EXPORTER_OTLP_ENDPOINT, no test exporter: tracing is on, exports nothing.
        await using var app = await TestService.StartAsync(new TestServiceOptions { RunQueueListener = true });
        var callerTrace = ActivityTraceId.CreateRandom();

        using var response = await PostWithTraceparentAsync(app, $"00-{callerTrace}-{ActivitySpanId.CreateRandom()}-01", User, "Hello");
        await ExchangeIdOf(response);
        await app.Mem0.WaitForAddsAsync(1, WriteTimeout);

        Assert.Equal(callerTrace, TraceIdOf(Assert.Single(app.Mem0.RequestsFor(Mem0Operation.Search)).TraceParent));
        Assert.Equal(callerTrace, TraceIdOf(Assert.Single(app.Model.Requests.ToList()).TraceParent));
        Assert.Equal(callerTrace, TraceIdOf(Assert.Single(app.Mem0.RequestsFor(Mem0Operation.Add)).TraceParent));
        Assert.DoesNotContain(app.Logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal));
    }

    [Fact]
    public async Task With_telemetry_switched_off_chats_and_writes_still_work()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            RunQueueListener = true,
            Settings = new Dictionary<string, string?> { ["OTEL_SDK_DISABLED"] = "true" },
        });

        using var response = await app.PostChatAsync(User, ("user", "Hello"));
        await ExchangeIdOf(response);
        await app.Mem0.WaitForAddsAsync(1, WriteTimeout);

        Assert.Null(app.Services.GetService<OpenTelemetry.Trace.TracerProvider>());
    }

    [Theory]
    [InlineData("")]
    [InlineData(",\"traceparent\":\"not-a-traceparent\",\"tracestate\":\"x=1\"")]
    public async Task A_message_without_usable_trace_context_is_written_normally_in_a_trace_of_its_own(string traceFields)
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { CaptureTelemetry = true });
        string exchangeId = Guid.NewGuid().ToString("N");
        // A version-1 message as queued before trace context existed (or by another producer).
        string json = $$"""{"v":1,"id":"{{exchangeId}}","userId":"{{User}}","createdAt":"2026-01-01T00:00:00Z","messages":[{"role":"user","content":"My order #77 is late"}]{{traceFields}}}""";

        await ActivatorUtilities.CreateInstance<MemoryWriterFunction>(app.Services).Run(json, 1, CancellationToken.None);

        Assert.Contains("My order #77 is late", app.Mem0.MemoriesOf(User).Select(m => m.Text));
        var write = app.Telemetry.Find("process " + app.QueueName, exchangeId)!;
        Assert.Equal(default, write.ParentSpanId);
        Assert.Equal(WriteOutcomes.Written, write.GetTagItem(SupportAgentTelemetry.WriteOutcome));
        Assert.Equal(write.TraceId, TraceIdOf(Assert.Single(app.Mem0.RequestsFor(Mem0Operation.Add)).TraceParent));
    }

    [Fact]
    public async Task No_exported_attribute_or_log_line_holds_message_text_memories_a_raw_user_id_or_a_key()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { RunQueueListener = true, CaptureTelemetry = true });
        string canary = Guid.NewGuid().ToString("N")[..12];
        string userId = $"pii.{canary}@example.com";
        string said = $"My passport number is P{canary}";
        string memory = $"Lives at {canary} Main Street";
        string reply = $"Noted your passport P{canary}";
        app.Mem0.Seed(userId, memory);
        app.Model.Responder = _ => reply;

        using var ok = await app.PostChatAsync(userId, ("user", said));
        string exchangeId = await ExchangeIdOf(ok);
        using var rejected = await app.PostChatAsync(userId, ("assistant", said));
        await app.Telemetry.WaitForAsync("process " + app.QueueName, exchangeId, WriteTimeout);
        app.Mem0.SearchFaults.FailAlways(FakeFault.ServerError);
        app.Model.Faults.FailNext(1, FakeFault.WithStatus(400));
        using var modelError = await app.PostChatAsync(userId, ("user", said));

        Assert.Equal(HttpStatusCode.BadRequest, rejected.StatusCode);
        Assert.Equal(HttpStatusCode.BadGateway, modelError.StatusCode);
        var exported = app.Telemetry.EverythingExported();
        // The checks below can fail: the spans are there, with the hashed user reference in place of the id.
        Assert.Contains(exported, t => t == $"{SupportAgentTelemetry.UserRef}={UserRef.For(userId)}");
        Assert.Contains(exported, t => t == $"{SupportAgentTelemetry.ExchangeId}={exchangeId}");
        Assert.NotEmpty(app.Telemetry.LogRecords.ToList());
        foreach (string secret in new[] { canary, TestService.OpenAiKey, TestService.Mem0Key })
        {
            Assert.DoesNotContain(exported, t => t.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Model_text_reaches_the_model_span_only_with_the_opt_in_setting_and_tokens_are_counted()
    {
        string modelName = "model-" + Guid.NewGuid().ToString("N")[..8]; // tells this test's token measurements from other hosts'
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            CaptureTelemetry = true,
            Settings = new Dictionary<string, string?>
            {
                ["OPENAI_MODEL"] = modelName,
                ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true",
            },
        });
        app.Model.Responder = _ => "Your order is on its way.";

        using var response = await app.PostChatAsync(User, ("user", "Where is order #31337?"));
        string exchangeId = await ExchangeIdOf(response);

        var chat = app.Telemetry.Find("chat turn", exchangeId)!;
        var model = Assert.Single(app.Telemetry.SpansOf(chat.TraceId), s => s.DisplayName == "chat " + modelName);
        string recorded = string.Join(" ", model.TagObjects.Select(t => t.Value?.ToString()));
        Assert.Contains("Where is order #31337?", recorded, StringComparison.Ordinal);
        Assert.Contains("Your order is on its way.", recorded, StringComparison.Ordinal);
        // The GenAI meter is the instrumentation's own, not from the host's IMeterFactory: this host's exporter sees
        // every host's, so this test's points are the ones of its own model name.
        app.Services.GetRequiredService<MeterProvider>().ForceFlush();
        var ours = app.Telemetry.Metrics.ToList().Where(m => m.Name == "gen_ai.client.token.usage")
            .SelectMany(m => m.MetricPoints)
            .Select(p => (Tags: TagsOf(p), Sum: p.GetHistogramSum()))
            .Where(p => p.Tags.GetValueOrDefault("gen_ai.request.model") == modelName)
            .ToList();
        Assert.Contains(ours, p => p.Tags.GetValueOrDefault("gen_ai.token.type") == "input" && p.Sum > 0);
        Assert.Contains(ours, p => p.Tags.GetValueOrDefault("gen_ai.token.type") == "output" && p.Sum > 0);
    }

    private static Dictionary<string, string?> TagsOf(MetricPoint point)
    {
        var tags = new Dictionary<string, string?>();
        foreach (var tag in point.Tags)
        {
            tags[tag.Key] = tag.Value?.ToString();
        }
        return tags;
    }
}
