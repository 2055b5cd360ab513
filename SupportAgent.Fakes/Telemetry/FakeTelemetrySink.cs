using System.Collections.Concurrent;
using System.IO.Compression;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace SupportAgent.Fakes;

/// <summary>One export the sink received: which route, how many bytes on the wire, and the body (decompressed).</summary>
public sealed record RecordedExport(string Path, long WireBytes, byte[] Body, DateTimeOffset ReceivedAt);

/// <summary>
/// A local telemetry backend that accepts and counts what exporters send, and answers success: OTLP over
/// http/protobuf (<c>POST /v1/traces</c>, <c>/v1/metrics</c>, <c>/v1/logs</c>) and the Azure Monitor ingestion API
/// (<c>POST /v2.1/track</c>, gzip JSON lines, plus Live Metrics' <c>/QuickPulseService.svc/*</c>). For tests that need
/// to see an export happen, and the benchmark's "OTLP to a local sink" figures. Nothing is parsed beyond gzip.
/// </summary>
public sealed class FakeTelemetrySink(int port = 0, int recordCapacity = 10_000) : FakeHttpServer(port)
{
    private readonly ConcurrentDictionary<string, long> _requests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _bytes = new(StringComparer.Ordinal);
    private readonly ChangeSignal _changed = new();

    public RequestLog<RecordedExport> Exports { get; } = new(recordCapacity);

    /// <summary>Requests received per path (OTLP: /v1/traces, /v1/metrics, /v1/logs; Azure Monitor: /v2.1/track).</summary>
    public IReadOnlyDictionary<string, long> RequestCounts => new Dictionary<string, long>(_requests);

    /// <summary>Bytes received per path, as sent (compressed where the exporter compresses).</summary>
    public IReadOnlyDictionary<string, long> ByteCounts => new Dictionary<string, long>(_bytes);

    public long RequestCount(string path) => _requests.GetValueOrDefault(path);

    /// <summary>Waits until an export on <paramref name="path"/> satisfies <paramref name="match"/>.</summary>
    public async Task<RecordedExport> WaitForExportAsync(string path, Func<RecordedExport, bool> match, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        RecordedExport? found = null;
        try
        {
            await _changed.WaitUntilAsync(() => (found = Exports.ToList().FirstOrDefault(e => e.Path == path && match(e))) is not null,
                timeout, $"an export to {path} that matches", cancellationToken);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{ex.Message} Received so far: {StatsJson()}", ex);
        }
        return found!;
    }

    public void Reset()
    {
        _requests.Clear();
        _bytes.Clear();
        Exports.Clear();
    }

    protected override void MapRoutes(WebApplication app)
    {
        app.MapPost("/v1/{signal}", context => ReceiveAsync(context, "application/x-protobuf", ""));
        app.MapPost("/v2.1/track", context => ReceiveAsync(context, "application/json", """{"itemsReceived":0,"itemsAccepted":0,"errors":[]}"""));
        // Live Metrics: "not subscribed", so the exporter only pings now and then.
        app.MapPost("/QuickPulseService.svc/{operation}", context =>
        {
            context.Response.Headers["x-ms-qps-subscribed"] = "false";
            return ReceiveAsync(context, "application/json", "");
        });
        app.MapGet("/_fake/stats", context => HttpIo.WriteRawJsonAsync(context, 200, StatsJson()));
        app.MapPost("/_fake/reset", context =>
        {
            Reset();
            return HttpIo.WriteRawJsonAsync(context, 200, """{"ok":true}""");
        });
    }

    private async Task ReceiveAsync(HttpContext context, string contentType, string answer)
    {
        string path = context.Request.Path.Value ?? "";
        byte[] wire = await HttpIo.ReadBodyAsync(context);
        byte[] body = context.Request.Headers.ContentEncoding.ToString().Contains("gzip", StringComparison.OrdinalIgnoreCase) ? Gunzip(wire) : wire;
        _requests.AddOrUpdate(path, 1, (_, n) => n + 1);
        _bytes.AddOrUpdate(path, wire.LongLength, (_, n) => n + wire.LongLength);
        Exports.Add(new RecordedExport(path, wire.LongLength, body, DateTimeOffset.UtcNow));
        _changed.Pulse();
        context.Response.StatusCode = 200;
        context.Response.ContentType = contentType;
        await context.Response.WriteAsync(answer, context.RequestAborted);
    }

    /// <summary><c>{"requests":{path:n,...},"bytes":{path:n,...}}</c></summary>
    public string StatsJson()
    {
        using var buffer = new MemoryStream();
        using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, counts) in new[] { ("requests", RequestCounts), ("bytes", ByteCounts) })
            {
                json.WriteStartObject(name);
                foreach (var (path, n) in counts)
                {
                    json.WriteNumber(path, n);
                }
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static byte[] Gunzip(byte[] data)
    {
        using var input = new GZipStream(new MemoryStream(data), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
