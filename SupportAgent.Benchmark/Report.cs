using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace SupportAgent.Benchmark;

internal sealed record ScenarioRuns(Scenario Scenario, List<Metrics> Runs, List<Metrics> Discarded)
{
    public Metrics Median => Metrics.Median(Runs);
}

internal sealed record Goal(string Name, string Scenario, double Value, double Limit, bool Pass, string Unit);

/// <summary>The results table, the PASS/MISS line per goal, and the one-line JSON with every figure.</summary>
internal static class Report
{
    // Keeps ≤, ≥ and + readable in the JSON line instead of \uXXXX escapes.
    internal static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public const double OverheadP50LimitMs = 5;
    public const double OverheadP99LimitMs = 25;
    public const double ZeroLatencyRpsGoal = 600;
    public const double PeakWorkingSetLimitMb = 200;
    public const double FirstDeltaOverheadP50LimitMs = 15;

    public static List<Goal> Goals(BenchOptions o, IReadOnlyList<ScenarioRuns> results)
    {
        var goals = new List<Goal>();
        ScenarioRuns? Get(string key) => results.FirstOrDefault(r => r.Scenario.Key == key);
        foreach (var key in new[] { "a", "b" })
        {
            if (Get(key) is not { } r)
            {
                continue;
            }
            var m = r.Median;
            goals.Add(new($"overhead p50 ≤ {OverheadP50LimitMs} ms at {r.Scenario.Clients} clients", key, m["overheadP50Ms"], OverheadP50LimitMs, m["overheadP50Ms"] <= OverheadP50LimitMs, "ms"));
            goals.Add(new($"overhead p99 ≤ {OverheadP99LimitMs} ms at {r.Scenario.Clients} clients", key, m["overheadP99Ms"], OverheadP99LimitMs, m["overheadP99Ms"] <= OverheadP99LimitMs, "ms"));
            double errors = r.Runs.Sum(x => x["errors"]);
            goals.Add(new($"zero errors at {r.Scenario.Clients} clients (all runs)", key, errors, 0, errors == 0, ""));
        }
        foreach (var key in new[] { "s", "t" })
        {
            if (Get(key) is not { } r)
            {
                continue;
            }
            var m = r.Median;
            double limit = r.Scenario.FirstDeltaFloorMs(o.SearchBudgetMs) + FirstDeltaOverheadP50LimitMs;
            goals.Add(new($"time to first text p50 ≤ search {Math.Min(r.Scenario.SearchMs, o.SearchBudgetMs)} + first token {r.Scenario.ModelMs} + {FirstDeltaOverheadP50LimitMs} ms at {r.Scenario.Clients} clients",
                key, m["firstDeltaP50Ms"], limit, m["firstDeltaP50Ms"] <= limit, "ms"));
            double errors = r.Runs.Sum(x => x["errors"]);
            goals.Add(new($"zero errors, streamed, at {r.Scenario.Clients} clients (all runs)", key, errors, 0, errors == 0, ""));
        }
        if (Get("c") is { } c)
        {
            goals.Add(new($"zero-latency throughput ≥ {ZeroLatencyRpsGoal} req/s", "c", c.Median["rps"], ZeroLatencyRpsGoal, c.Median["rps"] >= ZeroLatencyRpsGoal, "req/s"));
        }
        if (results.Count > 0)
        {
            double peak = results.SelectMany(r => r.Runs).Max(x => x["peakWorkingSetMb"]);
            goals.Add(new($"peak working set ≤ {PeakWorkingSetLimitMb} MB (max of all scenarios and runs)", "*", peak, PeakWorkingSetLimitMb, peak <= PeakWorkingSetLimitMb, "MB"));
        }
        var exact = results.Where(r => !r.Scenario.AddFault).ToList();
        if (exact.Count > 0)
        {
            // Every run, not the median: one lost or doubled write is a miss.
            // An answered chat is fine when its user got exactly one write, including a reply that said memorySaved=false
            // but whose enqueue did complete (see notQueuedButWritten).
            double bad = exact.SelectMany(r => r.Runs).Sum(x => x["lost"] + x["duplicates"] + x["poison"]
                + (x["notQueued"] - x.GetValueOrDefault("notQueuedButWritten")) + (x["answered"] - x["usersWritten"] - x["notQueued"]));
            goals.Add(new("every answered chat produces exactly one memory write (" + string.Join(",", exact.Select(r => r.Scenario.Key)) + ", all runs)",
                string.Join(",", exact.Select(r => r.Scenario.Key)), bad, 0, bad == 0, "chats off by"));
        }
        if (Get("a") is { } a && Get("b") is var b)
        {
            var onPath = new[] { a, b }.Where(x => x is not null).SelectMany(x => x!.Runs).ToList();
            bool one = onPath.All(x => Math.Abs(x["searchPerChat"] - 1) < 0.005 && Math.Abs(x["completionsPerChat"] - 1) < 0.005);
            goals.Add(new("1 search + 1 completion per chat on the path (a,b)", "a,b", onPath.Max(x => Math.Max(x["searchPerChat"], x["completionsPerChat"])), 1, one, "calls/chat"));
        }
        if (Get("d") is { } d)
        {
            double limit = o.SearchBudgetMs + d.Scenario.ModelMs + OverheadP99LimitMs;
            goals.Add(new($"slow search: p99 ≤ budget {o.SearchBudgetMs} + model {d.Scenario.ModelMs} + {OverheadP99LimitMs} ms", "d", d.Median["p99Ms"], limit, d.Median["p99Ms"] <= limit, "ms"));
        }
        if (Get("e") is { } e)
        {
            double lost = e.Runs.Sum(x => x["lost"] + x["stillQueued"]);
            goals.Add(new("add 500s: every write lands or sits in the poison queue, none lost (all runs)", "e", lost, 0, lost == 0, "lost"));
        }
        return goals;
    }

    public static string Table(BenchOptions o, IReadOnlyList<ScenarioRuns> results, IReadOnlyList<Goal> goals, DateTimeOffset started)
    {
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine($"SupportAgent chat benchmark — {started:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        sb.AppendLine($"latencies: model {o.ModelLatencyMs} ms, Mem0 search {o.SearchLatencyMs} ms, Mem0 add {o.AddLatencyMs} ms; search budget {o.SearchBudgetMs} ms; " +
                      $"{o.DurationSeconds:0.#} s load (c: {o.ZeroDurationSeconds:0.#} s) after {o.WarmupSeconds:0.#} s warm-up; " + (o.Runs > 1 ? $"medians of {o.Runs} runs" : "1 run"));
        sb.AppendLine("telemetry: " + o.Telemetry switch
        {
            "off" => "off (OTEL_SDK_DISABLED=true)",
            "otlp" => "on, exported over OTLP/http to a local sink",
            _ => "on (spans and metrics, no exporter)",
        });
        sb.AppendLine();
        string header = string.Format(CultureInfo.InvariantCulture,
            "{0,-20} {1,4} {2,6} {3,4} {4,7} {5,8} {6,8} {7,8} {8,7} {9,7} {10,6} {11,6} {12,6} {13,12} {14,6} {15,4} {16,4} {17,7} {18,7}",
            "scenario", "cli", "reqs", "err", "req/s", "p50 ms", "p95 ms", "p99 ms", "ovh50", "ovh99", "srch/c", "cmpl/c", "add/c", "writes/chats", "poison", "lost", "dup", "last s", "peak MB");
        sb.AppendLine(header);
        sb.AppendLine(new string('-', header.Length));
        foreach (var r in results)
        {
            var m = r.Median;
            sb.AppendLine(string.Format(CultureInfo.InvariantCulture,
                "{0,-20} {1,4} {2,6:0} {3,4:0} {4,7:0.0} {5,8:0.0} {6,8:0.0} {7,8:0.0} {8,7:0.0} {9,7:0.0} {10,6:0.00} {11,6:0.00} {12,6:0.00} {13,12} {14,6:0} {15,4:0} {16,4:0} {17,7:0.0} {18,7:0}",
                $"{r.Scenario.Key} {r.Scenario.Name}", r.Scenario.Clients, m["requests"], m["errors"], m["rps"], m["p50Ms"], m["p95Ms"], m["p99Ms"],
                m["overheadP50Ms"], m["overheadP99Ms"], m["searchPerChat"], m["completionsPerChat"], m["addsDuringLoadPerChat"],
                $"{m["usersWritten"]:0}/{m["answered"]:0}", m["poison"], m["lost"], m["duplicates"], m["lastWriteAfterLoadS"], m["peakWorkingSetMb"]));
        }
        sb.AppendLine();
        foreach (var r in results)
        {
            var m = r.Median;
            sb.AppendLine(string.Format(CultureInfo.InvariantCulture,
                "{0}: {1}; replies with memory ok/timeout/unavailable {2:0}/{3:0}/{4:0}; memorySaved=false {8:0} (written anyway {9:0}); Mem0 add requests {5:0} ({6:0} failed by the fake); writes drained: {7}",
                r.Scenario.Key, r.Scenario.Title, m["memoryOk"], m["memoryTimeout"], m["memoryUnavailable"], m["addRequests"], m["addFaults"],
                r.Runs.All(x => x["drained"] == 1) ? "yes" : "NO (timed out)", m["notQueued"], m.GetValueOrDefault("notQueuedButWritten"))
                + (r.Discarded.Count > 0 ? $"; {r.Discarded.Count} run(s) repeated after an Azurite stall (max {r.Discarded.Max(x => x["probeEnqueueMaxMs"]) / 1000:0.0} s)" : ""));
        }
        foreach (var r in results.Where(r => r.Scenario.Stream))
        {
            var m = r.Median;
            sb.AppendLine(string.Format(CultureInfo.InvariantCulture,
                "{0}: first text-delta p50 {1:0.0} / p95 {2:0.0} / p99 {3:0.0} ms (search + first token = {4:0} ms: +{5:0.0} / +{6:0.0} ms; p50 net of the dependencies' measured latency +{10:0.0} ms); whole reply p50 {7:0.0} / p99 {8:0.0} ms (floor {9:0} ms)",
                r.Scenario.Key, m["firstDeltaP50Ms"], m["firstDeltaP95Ms"], m["firstDeltaP99Ms"], m["firstDeltaFloorMs"], m["firstDeltaOverheadP50Ms"],
                m["firstDeltaOverheadP99Ms"], m["p50Ms"], m["p99Ms"], m["floorMs"], m.GetValueOrDefault("firstDeltaNetOverheadP50Ms", double.NaN)));
        }
        sb.AppendLine();
        sb.AppendLine("Where the time and the CPU went (probe = each dependency called directly during the load; CPU from /proc during the load):");
        foreach (var r in results)
        {
            var m = r.Median;
            sb.AppendLine(string.Format(CultureInfo.InvariantCulture,
                "{0}: overhead p50 {1:0.0} ms (net of the dependencies' measured latency {12:0.0} ms); probe: search +{2:0.0}, model +{3:0.0} ms over injected, Azurite enqueue p50 {4:0.0} / p99 {5:0.0} ms; " +
                "CPU ms per chat: self host {6:0.00}, Azurite {7:0.00}, fakes {8:0.00}, driver {9:0.00}; machine {10:0}% busy, other work {11:0.0} CPU-s",
                r.Scenario.Key, m["overheadP50Ms"], m["probeSearchExtraP50Ms"], m["probeModelExtraP50Ms"], m["probeEnqueueP50Ms"], m["probeEnqueueP99Ms"],
                m["cpuSelfHostMsPerChat"], m["cpuAzuriteMsPerChat"], m["cpuFakesMsPerChat"], m["cpuDriverMsPerChat"], m["cpuMachineBusyPct"], m["cpuOthersS"], m["netOverheadP50Ms"]));
        }
        sb.Append(GoalLines(goals));
        sb.AppendLine("ovh = latency − (search + model) as configured on the fakes (search capped by the budget in d); srch/c, cmpl/c, add/c = requests the fakes");
        sb.AppendLine("counted during the load per answered chat (adds come from the queue writer, concurrently); writes/chats = users with a Mem0 write / chats");
        sb.AppendLine("answered; last s = seconds from the end of the load until the last write landed; peak MB = the self host's peak resident set.");
        sb.AppendLine("Streamed (s, t): p50/p99 are the whole reply; first text-delta = from sending the request to the first text event read.");
        return sb.ToString();
    }

    public static string GoalLines(IReadOnlyList<Goal> goals)
    {
        var sb = new StringBuilder();
        sb.AppendLine();
        foreach (var g in goals)
        {
            sb.AppendLine(string.Format(CultureInfo.InvariantCulture, "{0}  {1}: {2:0.##} {3}", g.Pass ? "PASS" : "MISS", g.Name, g.Value, g.Unit).TrimEnd());
        }
        sb.AppendLine();
        return sb.ToString();
    }

    public static string Json(BenchOptions o, IReadOnlyList<ScenarioRuns> results, IReadOnlyList<Goal> goals, DateTimeOffset started, IReadOnlyList<Metrics>? memoryRuns = null)
    {
        var sb = new StringBuilder();
        sb.Append("{\"benchmark\":\"supportagent-chat\"");
        sb.Append(",\"date\":").Append(JsonSerializer.Serialize(started.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), Readable));
        sb.Append(",\"machine\":{\"cores\":").Append(Environment.ProcessorCount)
          .Append(",\"os\":").Append(JsonSerializer.Serialize(RuntimeInformation.OSDescription, Readable))
          .Append(",\"cpu\":").Append(JsonSerializer.Serialize(CpuModel(), Readable))
          .Append(",\"dotnet\":").Append(JsonSerializer.Serialize(Environment.Version.ToString(), Readable)).Append('}');
        sb.Append(",\"telemetry\":").Append(JsonSerializer.Serialize(o.Telemetry, Readable));
        sb.Append(",\"settings\":{")
          .Append(string.Join(",", new (string, double)[]
          {
              ("modelLatencyMs", o.ModelLatencyMs), ("searchLatencyMs", o.SearchLatencyMs), ("addLatencyMs", o.AddLatencyMs),
              ("streamFirstTokenMs", o.StreamFirstTokenMs), ("streamTotalMs", o.StreamTotalMs), ("slowSearchMs", o.SlowSearchMs), ("addFailSeconds", o.AddFailSeconds), ("searchBudgetMs", o.SearchBudgetMs),
              ("durationS", o.DurationSeconds), ("zeroDurationS", o.ZeroDurationSeconds), ("jitWarmupS", o.JitWarmupSeconds), ("warmupS", o.WarmupSeconds), ("runs", o.Runs),
          }.Select(p => $"\"{p.Item1}\":{p.Item2.ToString(CultureInfo.InvariantCulture)}")))
          .Append('}');
        sb.Append(",\"scenarios\":{");
        sb.Append(string.Join(",", results.Select(r =>
            $"{JsonSerializer.Serialize(r.Scenario.Key, Readable)}:{{\"name\":{JsonSerializer.Serialize(r.Scenario.Name, Readable)},\"title\":{JsonSerializer.Serialize(r.Scenario.Title, Readable)}," +
            $"\"median\":{r.Median.ToJson()},\"runs\":[{string.Join(",", r.Runs.Select(x => x.ToJson()))}]," +
            $"\"discardedAfterAzuriteStall\":[{string.Join(",", r.Discarded.Select(x => x.ToJson()))}]}}")));
        sb.Append('}');
        if (memoryRuns is { Count: > 0 })
        {
            sb.Append(",\"builtInMemory\":{\"median\":").Append(Metrics.Median(memoryRuns).ToJson())
              .Append(",\"runs\":[").Append(string.Join(",", memoryRuns.Select(x => x.ToJson()))).Append("]}");
        }
        sb.Append(",\"goals\":[");
        sb.Append(string.Join(",", goals.Select(g =>
            $"{{\"goal\":{JsonSerializer.Serialize(g.Name, Readable)},\"scenario\":{JsonSerializer.Serialize(g.Scenario, Readable)}," +
            $"\"value\":{(double.IsFinite(g.Value) ? Math.Round(g.Value, 3).ToString(CultureInfo.InvariantCulture) : "null")}," +
            $"\"limit\":{g.Limit.ToString(CultureInfo.InvariantCulture)},\"pass\":{(g.Pass ? "true" : "false")}}}")));
        sb.Append("],\"allPass\":").Append(goals.All(g => g.Pass) ? "true" : "false").Append('}');
        return sb.ToString();
    }

    private static string CpuModel()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
