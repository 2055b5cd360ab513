using Google.Protobuf;
using SupportAgent.Fakes;

namespace SupportAgent.Functions.Tests.RealHost;

/// <summary>One span as an exporter sent it over OTLP: which service and instrumentation scope, ids in hex, attributes as text.</summary>
internal sealed record OtlpSpan(string Service, string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind,
    IReadOnlyDictionary<string, string> Attributes, IReadOnlyList<string> LinkedSpanIds)
{
    public const int Server = 2, Client = 3, Producer = 4, Consumer = 5;

    public string? this[string attribute] => Attributes.GetValueOrDefault(attribute);

    public override string ToString() => $"{Service}/{Scope} '{Name}' kind {Kind} {TraceId}/{SpanId} parent {ParentSpanId}";
}

/// <summary>One log record as an exporter sent it: the service, the category (the instrumentation scope), the message template or text, its attributes.</summary>
internal sealed record OtlpLog(string Service, string Category, string Body, IReadOnlyDictionary<string, string> Attributes)
{
    public string? this[string attribute] => Attributes.GetValueOrDefault(attribute);
}

/// <summary>
/// Reads what OTLP/http exporters (the host's and the worker's) sent the telemetry sink: the protobuf messages of
/// opentelemetry-proto's trace and logs services, walked field by field with Google.Protobuf's reader (only the fields
/// the tests look at; everything else is skipped).
/// </summary>
internal static class OtlpExports
{
    public static IReadOnlyList<OtlpSpan> Spans(FakeTelemetrySink sink) =>
        sink.Exports.ToList().Where(e => e.Path == "/v1/traces").SelectMany(e => ReadSpans(e.Body)).ToList();

    public static IReadOnlyList<OtlpLog> Logs(FakeTelemetrySink sink) =>
        sink.Exports.ToList().Where(e => e.Path == "/v1/logs").SelectMany(e => ReadLogs(e.Body)).ToList();

    // ExportTraceServiceRequest { ResourceSpans resource_spans = 1 } → { Resource resource = 1; ScopeSpans scope_spans = 2 }
    // → ScopeSpans { InstrumentationScope scope = 1; Span spans = 2 }.
    private static IEnumerable<OtlpSpan> ReadSpans(byte[] request)
    {
        foreach (var resourceSpans in Repeated(request, 1))
        {
            string service = "";
            var scopes = new List<ByteString>();
            foreach (var (field, value) in Fields(resourceSpans))
            {
                if (field == 1)
                {
                    service = ServiceName(value);
                }
                else if (field == 2)
                {
                    scopes.Add(value);
                }
            }
            foreach (var scopeSpans in scopes)
            {
                string scope = Repeated(scopeSpans, 1).Select(s => String(s, 1)).FirstOrDefault() ?? "";
                foreach (var span in Repeated(scopeSpans, 2))
                {
                    yield return ReadSpan(service, scope, span);
                }
            }
        }
    }

    // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; SpanKind kind = 6;
    // KeyValue attributes = 9; Link links = 13 { bytes trace_id = 1; bytes span_id = 2 } }
    private static OtlpSpan ReadSpan(string service, string scope, ByteString span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        int kind = 0;
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        var links = new List<string>();
        var input = span.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: traceId = Hex(input.ReadBytes()); break;
                case 2: spanId = Hex(input.ReadBytes()); break;
                case 4: parent = Hex(input.ReadBytes()); break;
                case 5: name = input.ReadString(); break;
                case 6: kind = input.ReadEnum(); break;
                case 9: AddAttribute(attributes, input.ReadBytes()); break;
                case 13: links.Add(Hex(Repeated(input.ReadBytes(), 2).FirstOrDefault() ?? ByteString.Empty)); break;
                default: input.SkipLastField(); break;
            }
        }
        return new OtlpSpan(service, scope, traceId, spanId, parent, name, kind, attributes, links);
    }

    // ExportLogsServiceRequest { ResourceLogs resource_logs = 1 } → { Resource resource = 1; ScopeLogs scope_logs = 2 }
    // → ScopeLogs { InstrumentationScope scope = 1; LogRecord log_records = 2 { AnyValue body = 5; KeyValue attributes = 6 } }.
    private static IEnumerable<OtlpLog> ReadLogs(byte[] request)
    {
        foreach (var resourceLogs in Repeated(request, 1))
        {
            string service = Repeated(resourceLogs, 1).Select(ServiceName).FirstOrDefault() ?? "";
            foreach (var scopeLogs in Repeated(resourceLogs, 2))
            {
                string category = Repeated(scopeLogs, 1).Select(s => String(s, 1)).FirstOrDefault() ?? "";
                foreach (var record in Repeated(scopeLogs, 2))
                {
                    var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (var attribute in Repeated(record, 6))
                    {
                        AddAttribute(attributes, attribute);
                    }
                    yield return new OtlpLog(service, category, Repeated(record, 5).Select(AnyValueText).FirstOrDefault() ?? "", attributes);
                }
            }
        }
    }

    /// <summary>Resource { KeyValue attributes = 1 }: its service.name.</summary>
    private static string ServiceName(ByteString resource)
    {
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var attribute in Repeated(resource, 1))
        {
            AddAttribute(attributes, attribute);
        }
        return attributes.GetValueOrDefault("service.name", "");
    }

    /// <summary>KeyValue { string key = 1; AnyValue value = 2 }.</summary>
    private static void AddAttribute(Dictionary<string, string> attributes, ByteString keyValue)
    {
        string key = String(keyValue, 1) ?? "";
        attributes[key] = Repeated(keyValue, 2).Select(AnyValueText).FirstOrDefault() ?? "";
    }

    /// <summary>AnyValue { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ... } as text.</summary>
    private static string AnyValueText(ByteString value)
    {
        var input = value.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: return input.ReadString();
                case 2: return input.ReadBool() ? "true" : "false";
                case 3: return input.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
                case 4: return input.ReadDouble().ToString(System.Globalization.CultureInfo.InvariantCulture);
                default: input.SkipLastField(); break;
            }
        }
        return "";
    }

    private static string? String(ByteString message, int field) =>
        Fields(message).Where(f => f.Field == field).Select(f => f.Value.ToStringUtf8()).FirstOrDefault();

    private static IEnumerable<ByteString> Repeated(byte[] message, int field) => Repeated(ByteString.CopyFrom(message), field);

    private static IEnumerable<ByteString> Repeated(ByteString message, int field) =>
        Fields(message).Where(f => f.Field == field).Select(f => f.Value);

    /// <summary>The length-delimited fields of a message (submessages, strings, bytes), in order; other fields skipped.</summary>
    private static List<(int Field, ByteString Value)> Fields(ByteString message)
    {
        var fields = new List<(int, ByteString)>();
        var input = message.CreateCodedInput();
        for (uint tag; (tag = input.ReadTag()) != 0;)
        {
            if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                fields.Add((WireFormat.GetTagFieldNumber(tag), input.ReadBytes()));
            }
            else
            {
                input.SkipLastField();
            }
        }
        return fields;
    }

    private static string Hex(ByteString bytes) => Convert.ToHexStringLower(bytes.Span);
}
