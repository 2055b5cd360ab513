using System.Collections;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace SupportAgent.Functions.Tests.Support;

/// <summary>
/// In-memory exporters on a test host's OpenTelemetry pipeline: every span, metric point and OpenTelemetry log record
/// it exports. ActivitySources are process-wide, so spans of other tests' hosts running in parallel arrive here too:
/// tests pick theirs by trace id or exchange id.
/// </summary>
public sealed class TelemetryCapture
{
    private IServiceProvider? _services;

    public LockedCollection<Activity> Spans { get; } = new();

    public LockedCollection<MetricSnapshot> Metrics { get; } = new();

    /// <summary>Each OpenTelemetry log record, flattened to its formatted message, attributes and scopes.</summary>
    public LockedCollection<string> LogRecords { get; } = new();

    public void AttachTo(WebApplicationBuilder builder)
    {
        builder.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddInMemoryExporter(Spans));
        builder.Services.ConfigureOpenTelemetryMeterProvider(m => m.AddInMemoryExporter(Metrics));
        builder.Logging.AddOpenTelemetry(o =>
        {
            o.IncludeFormattedMessage = true;
            o.IncludeScopes = true;
            o.AddProcessor(new LogSnapshot(LogRecords));
        });
    }

    public void Bind(IServiceProvider services) => _services = services;

    public IReadOnlyList<Activity> SpansOf(ActivityTraceId traceId) => Spans.ToList().Where(s => s.TraceId == traceId).ToList();

    public Activity? Find(string name, string exchangeId) =>
        Spans.ToList().FirstOrDefault(s => s.DisplayName == name && s.GetTagItem(Functions.Telemetry.SupportAgentTelemetry.ExchangeId) as string == exchangeId);

    public Task<Activity> WaitForAsync(string name, string exchangeId, TimeSpan timeout) =>
        Eventually.WaitFor(() => Task.FromResult(Find(name, exchangeId)), s => s is not null, timeout, $"the span '{name}' of exchange {exchangeId}")!;

    /// <summary>Every string the pipeline exported: span names, tags, events, links, statuses, the resource, metric tags and log records.</summary>
    public IReadOnlyList<string> EverythingExported()
    {
        var services = _services ?? throw new InvalidOperationException("Bind the host's services first.");
        services.GetRequiredService<MeterProvider>().ForceFlush();
        var texts = new List<string>();
        foreach (var span in Spans.ToList())
        {
            texts.Add(span.DisplayName);
            texts.Add(span.StatusDescription ?? "");
            texts.AddRange(span.TagObjects.Select(t => $"{t.Key}={t.Value}"));
            texts.AddRange(span.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name} {t.Key}={t.Value}")));
            texts.AddRange(span.Links.SelectMany(l => (l.Tags ?? []).Select(t => $"{t.Key}={t.Value}")));
            texts.AddRange(span.Baggage.Select(b => $"{b.Key}={b.Value}"));
            texts.Add(span.TraceStateString ?? "");
        }
        texts.AddRange(services.GetRequiredService<TracerProvider>().GetResource().Attributes.Select(a => $"{a.Key}={a.Value}"));
        foreach (var metric in Metrics.ToList())
        {
            texts.Add(metric.Name);
            foreach (var point in metric.MetricPoints)
            {
                foreach (var tag in point.Tags)
                {
                    texts.Add($"{metric.Name} {tag.Key}={tag.Value}");
                }
            }
        }
        texts.AddRange(LogRecords.ToList());
        return texts;
    }

    private sealed class LogSnapshot(LockedCollection<string> records) : BaseProcessor<LogRecord>
    {
        public override void OnEnd(LogRecord data)
        {
            var parts = new List<string> { data.CategoryName ?? "", data.FormattedMessage ?? "", data.Body ?? "", data.Exception?.ToString() ?? "" };
            foreach (var attribute in data.Attributes ?? [])
            {
                parts.Add($"{attribute.Key}={attribute.Value}");
            }
            data.ForEachScope((scope, state) =>
            {
                foreach (var item in scope)
                {
                    state.Add($"{item.Key}={item.Value}");
                }
            }, parts);
            records.Add(string.Join(" | ", parts));
        }
    }
}

/// <summary>A collection the exporters can add to while a test reads a snapshot.</summary>
public sealed class LockedCollection<T> : ICollection<T>
{
    private readonly List<T> _items = [];

    public int Count
    {
        get
        {
            lock (_items)
            {
                return _items.Count;
            }
        }
    }

    public bool IsReadOnly => false;

    public void Add(T item)
    {
        lock (_items)
        {
            _items.Add(item);
        }
    }

    public List<T> ToList()
    {
        lock (_items)
        {
            return [.. _items];
        }
    }

    public void Clear()
    {
        lock (_items)
        {
            _items.Clear();
        }
    }

    public bool Contains(T item) => ToList().Contains(item);

    public void CopyTo(T[] array, int arrayIndex) => ToList().CopyTo(array, arrayIndex);

    public bool Remove(T item)
    {
        lock (_items)
        {
            return _items.Remove(item);
        }
    }

    public IEnumerator<T> GetEnumerator() => ToList().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
