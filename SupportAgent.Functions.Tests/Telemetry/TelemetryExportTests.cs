using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using SupportAgent.Fakes;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Telemetry;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Telemetry;

/// <summary>Metrics by outcome, and export to the destinations the settings name (a local sink stands in for both).</summary>
public sealed class TelemetryExportTests
{
    // Unique per test class run: erasure records ("forget me") live in the storage account all tests share.
    private static readonly string User = "user-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Metrics_count_chats_by_outcome_searches_by_status_and_writes_by_outcome_with_their_lag()
    {
        await using var app = await TestService.StartAsync();
        var meters = app.Services.GetRequiredService<IMeterFactory>(); // this host's meters only, not other tests' hosts
        using var chats = new MetricCollector<long>(meters, SupportAgentTelemetry.Name, "supportagent.chat.requests");
        using var searches = new MetricCollector<double>(meters, SupportAgentTelemetry.Name, "supportagent.memory.search.duration");
        using var writes = new MetricCollector<long>(meters, SupportAgentTelemetry.Name, "supportagent.memory.writes");
        using var lag = new MetricCollector<double>(meters, SupportAgentTelemetry.Name, "supportagent.memory.write.lag");

        using (var ok = await app.PostChatAsync(User, ("user", "Hello")))
        using (var rejected = await app.PostChatAsync(User, ("assistant", "Hello")))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal(HttpStatusCode.BadRequest, rejected.StatusCode);
        }
        app.Mem0.SearchFaults.FailAlways(FakeFault.WithStatus(400));
        using (var degraded = await app.PostChatAsync(User, ("user", "Hello")))
        {
            Assert.Equal("unavailable", (await degraded.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("memory").GetString());
        }
        app.Model.Faults.FailNext(1, FakeFault.WithStatus(400));
        using (var modelError = await app.PostChatAsync(User, ("user", "Hello")))
        {
            Assert.Equal(HttpStatusCode.BadGateway, modelError.StatusCode);
        }

        // Deliveries of one exchange created ten minutes ago: refused on the first try and on the last allowed (5th) one, then written.
        string json = Encoding.UTF8.GetString(new MemoryWriteMessage(1, "exchange-m", User, DateTimeOffset.UtcNow.AddMinutes(-10),
            [new ChatTurn("user", "My order #5 is late")]).ToUtf8Json());
        var writer = ActivatorUtilities.CreateInstance<MemoryWriterFunction>(app.Services);
        app.Mem0.AddFaults.FailNext(2, FakeFault.WithStatus(400));
        await Assert.ThrowsAsync<MemoryStoreException>(() => writer.Run(json, 1, CancellationToken.None));
        await Assert.ThrowsAsync<MemoryStoreException>(() => writer.Run(json, 5, CancellationToken.None));
        await writer.Run(json, 2, CancellationToken.None);
        // A user who asked to be forgotten: an exchange made before that is dropped, and counted as such.
        await app.Services.GetRequiredService<MemoryErasures>().RecordAsync(User + "-gone", DateTimeOffset.UtcNow, CancellationToken.None);
        await writer.Run(Encoding.UTF8.GetString(new MemoryWriteMessage(1, "exchange-f", User + "-gone", DateTimeOffset.UtcNow.AddMinutes(-1),
            [new ChatTurn("user", "Remember me")]).ToUtf8Json()), 1, CancellationToken.None);

        Assert.Equal(["model_error", "ok", "ok", "rejected"],
            chats.GetMeasurementSnapshot().Select(m => (string)m.Tags[SupportAgentTelemetry.ChatOutcome]!).Order());
        Assert.Equal(["ok", "unavailable", "unavailable"],
            searches.GetMeasurementSnapshot().Select(m => (string)m.Tags[SupportAgentTelemetry.MemoryStatus]!).Order());
        Assert.Equal([WriteOutcomes.Retried, WriteOutcomes.Poisoned, WriteOutcomes.Written, WriteOutcomes.Forgotten],
            writes.GetMeasurementSnapshot().Select(m => (string)m.Tags[SupportAgentTelemetry.WriteOutcome]!));
        Assert.InRange(Assert.Single(lag.GetMeasurementSnapshot()).Value, 600, 3600);
    }

    [Fact]
    public async Task Traces_metrics_and_logs_reach_an_otlp_collector_and_azure_monitor_when_both_are_configured()
    {
        // The Azure Monitor exporter's own usage reports would go to Microsoft's endpoints: off, as this machine has no network.
        foreach (string name in new[] { "APPLICATIONINSIGHTS_STATSBEAT_DISABLED", "APPLICATIONINSIGHTS_SDKSTATS_DISABLED", "APPLICATIONINSIGHTS_SDKSTATS_DISABLED_ALL" })
        {
            Environment.SetEnvironmentVariable(name, "true");
        }
        await using var sink = new FakeTelemetrySink();
        await sink.StartAsync();
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            Settings = new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.BaseUrl,
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["APPLICATIONINSIGHTS_CONNECTION_STRING"] =
                    $"InstrumentationKey={Guid.NewGuid()};IngestionEndpoint={sink.BaseUrl}/;LiveEndpoint={sink.BaseUrl}/",
            },
        });

        using var response = await app.PostChatAsync(User, ("user", "Hello"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string exchangeId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("exchangeId").GetString()!;
        byte[] id = Encoding.UTF8.GetBytes(exchangeId);

        // The exchange id is an attribute of the chat span: it appears verbatim in the OTLP protobuf and the Azure Monitor JSON.
        await sink.WaitForExportAsync("/v1/traces", e => e.Body.AsSpan().IndexOf(id) >= 0, TimeSpan.FromSeconds(60));
        var track = await sink.WaitForExportAsync("/v2.1/track", e => e.Body.AsSpan().IndexOf(id) >= 0, TimeSpan.FromSeconds(60));
        Assert.Contains("\"name\":\"chat turn\"", Encoding.UTF8.GetString(track.Body), StringComparison.Ordinal);
        await sink.WaitForExportAsync("/v1/logs", _ => true, TimeSpan.FromSeconds(60));
        await app.StopHostAsync(); // providers flush their last metrics on shutdown
        Assert.True(sink.RequestCount("/v1/metrics") > 0, "no OTLP metrics export");
    }
}
