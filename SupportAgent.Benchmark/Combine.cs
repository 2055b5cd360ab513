using System.Globalization;
using System.Text.Json;

namespace SupportAgent.Benchmark;

/// <summary>
/// <c>--combine a.json b.json …</c>: the medians over several benchmark invocations' results (their JSON lines), for
/// when one invocation with <c>--runs N</c> would take too long. Same table, goals and JSON line as a run.
/// </summary>
internal static class Combine
{
    public static (BenchOptions Options, List<ScenarioRuns> Results, DateTimeOffset Started) Load(IReadOnlyList<string> files)
    {
        BenchOptions? options = null;
        var started = DateTimeOffset.MaxValue;
        var byKey = new Dictionary<string, ScenarioRuns>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            string line = File.ReadLines(file).Last(l => l.TrimStart().StartsWith('{'));
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            var date = DateTimeOffset.Parse(root.GetProperty("date").GetString()!, CultureInfo.InvariantCulture);
            started = date < started ? date : started;
            var settings = root.GetProperty("settings");
            double S(string name, double fallback) => settings.TryGetProperty(name, out var v) ? v.GetDouble() : fallback;
            options ??= new BenchOptions
            {
                ModelLatencyMs = (int)S("modelLatencyMs", 800),
                SearchLatencyMs = (int)S("searchLatencyMs", 150),
                AddLatencyMs = (int)S("addLatencyMs", 400),
                StreamFirstTokenMs = (int)S("streamFirstTokenMs", 300),
                StreamTotalMs = (int)S("streamTotalMs", 1500),
                SlowSearchMs = (int)S("slowSearchMs", 2000),
                AddFailSeconds = S("addFailSeconds", 10),
                SearchBudgetMs = (int)S("searchBudgetMs", 1000),
                DurationSeconds = S("durationS", 20),
                ZeroDurationSeconds = S("zeroDurationS", 10),
                WarmupSeconds = S("warmupS", 3),
                JitWarmupSeconds = S("jitWarmupS", 5),
                Telemetry = root.TryGetProperty("telemetry", out var telemetry) ? telemetry.GetString() ?? "on" : "on",
                Runs = 0,
            };
            foreach (var scenario in root.GetProperty("scenarios").EnumerateObject())
            {
                var runs = scenario.Value.GetProperty("runs").EnumerateArray().Select(Read).ToList();
                var discarded = scenario.Value.TryGetProperty("discardedAfterAzuriteStall", out var d)
                    ? d.EnumerateArray().Select(Read).ToList()
                    : [];
                if (!byKey.TryGetValue(scenario.Name, out var entry))
                {
                    var template = Scenario.For(scenario.Name, options with { Clients = (int)runs[0]["clients"], ClientsHigh = (int)runs[0]["clients"], ZeroClients = (int)runs[0]["clients"] });
                    entry = byKey[scenario.Name] = new ScenarioRuns(template, [], []);
                }
                entry.Runs.AddRange(runs);
                entry.Discarded.AddRange(discarded);
            }
        }
        if (options is null)
        {
            throw new ArgumentException("--combine needs at least one results file.");
        }
        var results = byKey.Values.OrderBy(r => r.Scenario.Key, StringComparer.Ordinal).ToList();
        return (options with { Runs = results.Max(r => r.Runs.Count) }, results, started);
    }

    private static Metrics Read(JsonElement element)
    {
        var m = new Metrics();
        foreach (var p in element.EnumerateObject())
        {
            m[p.Name] = p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetDouble() : double.NaN;
        }
        return m;
    }
}
