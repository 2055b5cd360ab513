using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Azure;
using Azure.Storage.Queues;

namespace SupportAgent.Benchmark;

/// <summary>
/// One scenario: how many clients, the fakes' latencies, and an optional fault. A streamed scenario reads replies as UI
/// message streams: <see cref="ModelMs"/> is then the model's time to first token, <see cref="StreamMs"/> the rest.
/// </summary>
internal sealed record Scenario(string Key, string Name, string Title, int Clients, int ModelMs, int SearchMs, int AddMs, int StreamMs = 0)
{
    /// <summary>The time the upstreams take on the response path: search (capped by the app's budget) + the whole model reply.</summary>
    public int FloorMs(int searchBudgetMs) => Math.Min(SearchMs, searchBudgetMs) + ModelMs + StreamMs;

    /// <summary>Streamed: the soonest the first text can reach a client, search + the model's first token.</summary>
    public int FirstDeltaFloorMs(int searchBudgetMs) => Math.Min(SearchMs, searchBudgetMs) + ModelMs;

    public bool AddFault => Key == "e";

    public bool Stream => Key is "s" or "t";

    public static Scenario For(string key, BenchOptions o) => key switch
    {
        "a" => new("a", "default-" + o.Clients, $"default latencies, {o.Clients} clients", o.Clients, o.ModelLatencyMs, o.SearchLatencyMs, o.AddLatencyMs),
        "b" => new("b", "default-" + o.ClientsHigh, $"default latencies, {o.ClientsHigh} clients", o.ClientsHigh, o.ModelLatencyMs, o.SearchLatencyMs, o.AddLatencyMs),
        "c" => new("c", "zero-latency", $"all fakes 0 ms, {o.ZeroClients} clients", o.ZeroClients, 0, 0, 0),
        "d" => new("d", "slow-search", $"Mem0 search {o.SlowSearchMs} ms, {o.Clients} clients", o.Clients, o.ModelLatencyMs, o.SlowSearchMs, o.AddLatencyMs),
        "e" => new("e", "add-500", $"Mem0 add 500 for {o.AddFailSeconds:0.#} s, {o.Clients} clients", o.Clients, o.ModelLatencyMs, o.SearchLatencyMs, o.AddLatencyMs),
        "s" => Streamed("s", o.Clients, o),
        "t" => Streamed("t", o.ClientsHigh, o),
        _ => throw new ArgumentOutOfRangeException(nameof(key)),
    };

    private static Scenario Streamed(string key, int clients, BenchOptions o) =>
        new(key, "stream-" + clients, $"streamed, first token {o.StreamFirstTokenMs} ms, reply {o.StreamTotalMs} ms, {clients} clients",
            clients, o.StreamFirstTokenMs, o.SearchLatencyMs, o.AddLatencyMs, o.StreamTotalMs - o.StreamFirstTokenMs);
}

/// <summary>
/// Runs one scenario against the running stack: configure the fakes, warm up, let the warm-up's writes land, reset
/// the counters, measure the load, then wait (bounded) until every answered chat's memory write has landed.
/// </summary>
internal sealed class ScenarioRunner(BenchOptions o, Stack stack, FakesControl fakes, LoadDriver driver, ProcessMemory memory, StageProbe probe, TextWriter progress)
{
    private readonly QueueClient _queue = new(stack.StorageConnectionString, Stack.QueueName);
    private readonly QueueClient _poison = new(stack.StorageConnectionString, Stack.QueueName + "-poison");
    private readonly CpuUsage _cpu = new(new Dictionary<string, int>(stack.Pids) { ["Driver"] = Environment.ProcessId });

    /// <summary>
    /// Zero-latency load for a few seconds (JSON, and streamed when a scenario streams), then its writes drained: a freshly started .NET process runs unoptimised
    /// (tier-0) code and compiles the hot paths in the background, which would otherwise land in the first scenario.
    /// </summary>
    public async Task JitWarmupAsync(int clients, bool stream, CancellationToken ct)
    {
        if (o.JitWarmupSeconds <= 0)
        {
            return;
        }
        await fakes.ConfigureAsync(0, 0, 0, ct);
        await fakes.ResetAsync(ct);
        using var probing = new CancellationTokenSource();
        var probeTask = probe.RunAsync(probing.Token); // the probe's code paths warm up too
        var warm = await driver.RunAsync(clients, TimeSpan.FromSeconds(o.JitWarmupSeconds), ct);
        if (stream)
        {
            // The streamed path (UI message stream writer, the model client's streaming reader) warms up too.
            warm.Merge(await driver.RunAsync(clients, TimeSpan.FromSeconds(o.JitWarmupSeconds), ct, stream: true));
        }
        await probing.CancelAsync();
        await probeTask;
        progress.WriteLine($"  JIT warm-up: {warm.Answered} chats, {warm.Errors} errors; waiting for their memory writes");
        await DrainAsync(warm.SavedUsers.Count, TimeSpan.FromSeconds(Math.Min(o.DrainTimeoutSeconds, 120)), ct);

        // The runtime compiles hot methods again, optimised (tier 1), on a background thread some time after they got
        // hot: ~10,000 methods and 8-9 CPU-seconds for this app. Wait until the self host is idle, so that work is done.
        var cpu = new CpuUsage(new Dictionary<string, int> { ["SelfHost"] = stack.SelfHost.Pid });
        var clock = Stopwatch.StartNew();
        int quiet = 0;
        var before = cpu.Take();
        while (quiet < 2 && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(1000, ct);
            var now = cpu.Take();
            var m = new Metrics();
            CpuUsage.AddTo(m, before, now);
            quiet = m["cpuSelfHostS"] < 0.05 ? quiet + 1 : 0; // under 5% of a core for two seconds running
            before = now;
        }
        progress.WriteLine($"  self host idle after {clock.Elapsed.TotalSeconds:0} s (background JIT done)");
    }

    public async Task<Metrics> RunAsync(Scenario s, CancellationToken ct)
    {
        var m = new Metrics();
        await fakes.ConfigureAsync(s.ModelMs, s.SearchMs, s.AddMs, ct, s.StreamMs);
        await SettleQueuesAsync(ct);
        await fakes.ResetAsync(ct); // the warm-up's writes are counted from zero
        memory.ResetPeak();
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sampler = memory.SampleAsync(sampling.Token);

        // Warm-up (not measured): JIT, connection pools, the queue listener's polling reaching its busy rhythm.
        if (o.WarmupSeconds > 0)
        {
            var warm = await driver.RunAsync(s.Clients, TimeSpan.FromSeconds(o.WarmupSeconds), ct, s.Stream);
            progress.WriteLine($"  warm-up: {warm.Answered} chats, {warm.Errors} errors; waiting for their memory writes");
            await DrainAsync(warm.SavedUsers.Count, TimeSpan.FromSeconds(Math.Min(o.DrainTimeoutSeconds, 60)), ct);
        }
        await fakes.ResetAsync(ct);
        await ClearPoisonAsync(ct);
        if (s.AddFault)
        {
            await fakes.FailAddsForAsync(500, TimeSpan.FromSeconds(o.AddFailSeconds), ct);
        }

        await ResetSinkAsync(ct);
        var cpuBefore = _cpu.Take();
        using var probing = new CancellationTokenSource();
        var probeTask = probe.RunAsync(probing.Token);
        double seconds = s.Key == "c" ? o.ZeroDurationSeconds : o.DurationSeconds;
        var load = await driver.RunAsync(s.Clients, TimeSpan.FromSeconds(seconds), ct, s.Stream);
        var cpuAfter = _cpu.Take();
        await probing.CancelAsync();
        var stages = await probeTask;
        var openAiAtEnd = await fakes.OpenAiStatsAsync(ct);
        var mem0AtEnd = await fakes.Mem0StatsAsync(users: false, ct);
        progress.WriteLine($"  load: {load.Answered} chats in {load.ElapsedSeconds:0.0} s, {load.Errors} errors; waiting for memory writes");

        var drain = await DrainAsync(load.SavedUsers.Count, TimeSpan.FromSeconds(o.DrainTimeoutSeconds), ct);
        await Task.Delay(1000, ct); // a late duplicate would land now
        var mem0Final = await fakes.Mem0StatsAsync(users: true, ct);
        int poison = await CountAsync(_poison, ct);
        int queued = await CountAsync(_queue, ct);
        await sampling.CancelAsync();
        await sampler;

        // Latency
        var lat = load.LatenciesMs.Order().ToArray();
        int floor = s.FloorMs(o.SearchBudgetMs);
        m["clients"] = s.Clients;
        m["durationS"] = load.ElapsedSeconds;
        m["requests"] = load.Answered + load.Errors;
        m["errors"] = load.Errors;
        m["rps"] = load.Answered / load.ElapsedSeconds;
        m["p50Ms"] = Percentile(lat, 50);
        m["p95Ms"] = Percentile(lat, 95);
        m["p99Ms"] = Percentile(lat, 99);
        m["maxMs"] = lat.Length > 0 ? lat[^1] : double.NaN;
        m["floorMs"] = floor;
        m["overheadP50Ms"] = m["p50Ms"] - floor;
        m["overheadP95Ms"] = m["p95Ms"] - floor;
        m["overheadP99Ms"] = m["p99Ms"] - floor;
        if (s.Stream)
        {
            // What a person watching the page waits for: the first words.
            var first = load.FirstDeltaMs.Order().ToArray();
            int firstFloor = s.FirstDeltaFloorMs(o.SearchBudgetMs);
            m["firstDeltaP50Ms"] = Percentile(first, 50);
            m["firstDeltaP95Ms"] = Percentile(first, 95);
            m["firstDeltaP99Ms"] = Percentile(first, 99);
            m["firstDeltaFloorMs"] = firstFloor;
            m["firstDeltaOverheadP50Ms"] = m["firstDeltaP50Ms"] - firstFloor;
            m["firstDeltaOverheadP99Ms"] = m["firstDeltaP99Ms"] - firstFloor;
        }

        // Upstream calls on the response path, counted by the fakes at the end of the load (every request in it has returned).
        double chats = Math.Max(1, load.Answered);
        m["searchPerChat"] = (mem0AtEnd.Count("search") - stages.SearchCalls) / chats;
        m["completionsPerChat"] = (openAiAtEnd.Chats() - stages.ModelCalls) / chats;
        m["addsDuringLoadPerChat"] = mem0AtEnd.Count("add") / chats;
        m["memoryOk"] = load.MemoryStatus.GetValueOrDefault("ok");
        m["memoryTimeout"] = load.MemoryStatus.GetValueOrDefault("timeout");
        m["memoryUnavailable"] = load.MemoryStatus.GetValueOrDefault("unavailable");
        m["notQueued"] = load.NotSaved;

        // The dependencies timed directly during the load: their cost beyond the injected latency, and the enqueue.
        m["probeSearchExtraP50Ms"] = Percentile([.. stages.SearchMs.Order()], 50) - s.SearchMs;
        m["probeModelExtraP50Ms"] = Percentile([.. stages.ModelMs.Order()], 50) - s.ModelMs;
        m["probeEnqueueP50Ms"] = Percentile([.. stages.EnqueueMs.Order()], 50);
        m["probeEnqueueP99Ms"] = Percentile([.. stages.EnqueueMs.Order()], 99);
        m["probeEnqueueMaxMs"] = stages.EnqueueMs.Count > 0 ? stages.EnqueueMs.Max() : double.NaN;
        m["probeModelMaxMs"] = stages.ModelMs.Count > 0 ? stages.ModelMs.Max() - s.ModelMs : double.NaN;
        m["probeSearchMaxMs"] = stages.SearchMs.Count > 0 ? stages.SearchMs.Max() - s.SearchMs : double.NaN;
        // The issue's overhead counts the fakes' own HTTP and timer cost as ours; this one takes the dependencies'
        // latency as measured (probe p50) instead of as configured, leaving the service's code and its enqueue.
        m["netOverheadP50Ms"] = m["p50Ms"] - (Math.Min(s.SearchMs, o.SearchBudgetMs) == s.SearchMs
            ? Percentile([.. stages.SearchMs.Order()], 50) : o.SearchBudgetMs) - Percentile([.. stages.ModelMs.Order()], 50);
        m["probeSamples"] = stages.SearchMs.Count + stages.ModelMs.Count + stages.EnqueueMs.Count;
        if (s.Stream)
        {
            // The probe's completion is not streamed, so its latency is the fake's first-token delay: what remains of the
            // time to first text is the service's own, the HTTP hops and the stream's first write.
            m["firstDeltaNetOverheadP50Ms"] = m["firstDeltaP50Ms"] - Percentile([.. stages.SearchMs.Order()], 50) - Percentile([.. stages.ModelMs.Order()], 50);
        }

        // Who used the CPU during the load (seconds), and per answered chat (ms).
        CpuUsage.AddTo(m, cpuBefore, cpuAfter);
        m["cpuSelfHostMsPerChat"] = 1000 * m["cpuSelfHostS"] / chats;
        m["cpuAzuriteMsPerChat"] = 1000 * m["cpuAzuriteS"] / chats;
        m["cpuFakesMsPerChat"] = 1000 * m["cpuFakesS"] / chats;
        m["cpuDriverMsPerChat"] = 1000 * m["cpuDriverS"] / chats;

        // Memory writes: each answered user (distinct ids) must be written once; failures may sit in the poison queue.
        var byUser = mem0Final.AddsByUser ?? new Dictionary<string, int>();
        int written = load.SavedUsers.Count(byUser.ContainsKey);
        int duplicates = byUser.Where(kv => load.SavedUsers.Contains(kv.Key)).Sum(kv => Math.Max(0, kv.Value - 1));
        // memorySaved=false can be a false negative: the enqueue gave up after its 15 s timeout but the storage
        // completed it anyway, so the exchange is written after all. Counted apart from writes of unknown users.
        int unsavedWritten = load.UnsavedUsers.Count(byUser.ContainsKey);
        int foreign = byUser.Keys.Count(k => !load.SavedUsers.Contains(k) && !load.UnsavedUsers.Contains(k));
        m["answered"] = load.Answered;
        m["writes"] = mem0Final.AddsCompleted;
        m["usersWritten"] = written;
        m["duplicates"] = duplicates;
        m["foreignWrites"] = foreign;
        m["notQueuedButWritten"] = unsavedWritten;
        m["poison"] = poison;
        m["stillQueued"] = queued;
        m["lost"] = Math.Max(0, load.SavedUsers.Count - written - poison);
        m["addRequests"] = mem0Final.Count("add");
        m["addFaults"] = mem0Final.FaultsInjected;
        m["drained"] = drain.Drained ? 1 : 0;
        m["lastWriteAfterLoadS"] = drain.LastWriteAfter.TotalSeconds;

        // Peak working set of the self host over warm-up, load and drain.
        long hwm = memory.HwmKb ?? 0;
        long sampled = memory.SampledPeakKb;
        m["peakWorkingSetMb"] = (memory.HwmIsPerScenario ? Math.Max(hwm, sampled) : sampled) / 1024.0;
        m["peakSampledRssMb"] = sampled / 1024.0;
        var (anon, file, shmem) = memory.RssParts;
        m["rssAnonMb"] = anon / 1024.0;
        m["rssFileMb"] = file / 1024.0;
        m["rssShmemMb"] = shmem / 1024.0;

        // What the exporter sent during load and drain (--telemetry otlp), per answered chat.
        var (exports, bytes) = await SinkTracesAsync(ct);
        m["otlpTraceExports"] = exports;
        m["otlpTraceKbPerChat"] = bytes / 1024.0 / chats;

        m["repeatedAfterAzuriteStall"] = 0;

        if (load.ErrorKinds.Count > 0)
        {
            progress.WriteLine("  errors: " + string.Join(", ", load.ErrorKinds.Select(kv => $"{kv.Key} ×{kv.Value}")));
        }
        return m;
    }

    /// <summary>
    /// Polls until every expected user has a memory (or a poison message) and the queue is empty, or the timeout.
    /// Returns when the last write was seen, measured from the call (the end of the load).
    /// </summary>
    private async Task<(bool Drained, TimeSpan LastWriteAfter)> DrainAsync(int expectedUsers, TimeSpan timeout, CancellationToken ct)
    {
        // The fakes' counters are cheap to poll; Azurite's queue properties are not (a count walks the queue, and Azurite
        // is single-threaded), so the queues are read only when the counters say the writes are done, or every 2 s.
        var clock = Stopwatch.StartNew();
        int lastAdds = -1;
        var lastChange = TimeSpan.Zero;
        var lastQueueCheck = TimeSpan.Zero;
        var lastReport = TimeSpan.Zero;
        int reportedUsers = 0;
        var azuriteCpu = new CpuUsage(new Dictionary<string, int> { ["Azurite"] = stack.Pids["Azurite"] });
        var cpuAtReport = azuriteCpu.Take();
        int poison = 0;
        while (true)
        {
            var stats = await fakes.Mem0StatsAsync(users: false, ct);
            if (stats.AddsCompleted != lastAdds)
            {
                lastAdds = stats.AddsCompleted;
                lastChange = clock.Elapsed;
            }
            bool countersDone = stats.Users + poison >= expectedUsers;
            if (countersDone || clock.Elapsed - lastQueueCheck > TimeSpan.FromSeconds(2))
            {
                lastQueueCheck = clock.Elapsed;
                poison = await CountAsync(_poison, ct);
                if (stats.Users + poison >= expectedUsers && await CountAsync(_queue, ct) == 0)
                {
                    return (true, lastChange);
                }
            }
            if (clock.Elapsed - lastReport > TimeSpan.FromSeconds(10))
            {
                var now = azuriteCpu.Take();
                var m = new Metrics();
                CpuUsage.AddTo(m, cpuAtReport, now);
                double seconds = (clock.Elapsed - lastReport).TotalSeconds;
                progress.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"  … {clock.Elapsed.TotalSeconds:0} s: {stats.Users}/{expectedUsers} users written ({(stats.Users - reportedUsers) / seconds:0} /s), {poison} poison; Azurite CPU {100 * m["cpuAzuriteS"] / seconds:0}%"));
                lastReport = clock.Elapsed;
                reportedUsers = stats.Users;
                cpuAtReport = now;
            }
            if (clock.Elapsed > timeout)
            {
                progress.WriteLine($"  drain timed out after {timeout.TotalSeconds:0} s: {stats.Users}/{expectedUsers} users written, {poison} poison, {await CountAsync(_queue, ct)} queued");
                return (false, lastChange);
            }
            await Task.Delay(100, ct);
        }
    }

    private async Task ResetSinkAsync(CancellationToken ct)
    {
        if (stack.TelemetrySinkUrl is { } sink)
        {
            using var http = new HttpClient();
            (await http.PostAsync(new Uri(sink, "_fake/reset"), null, ct)).EnsureSuccessStatusCode();
        }
    }

    /// <summary>Trace exports (requests, bytes) the sink has received since its reset; NaN without a sink.</summary>
    private async Task<(double Requests, double Bytes)> SinkTracesAsync(CancellationToken ct)
    {
        if (stack.TelemetrySinkUrl is not { } sink)
        {
            return (double.NaN, double.NaN);
        }
        using var http = new HttpClient();
        using var stats = JsonDocument.Parse(await http.GetStringAsync(new Uri(sink, "_fake/stats"), ct));
        double Get(string kind) => stats.RootElement.GetProperty(kind).TryGetProperty("/v1/traces", out var n) ? n.GetDouble() : 0;
        return (Get("requests"), Get("bytes"));
    }

    /// <summary>Before a scenario: nothing of the previous one may still be queued or processing.</summary>
    private async Task SettleQueuesAsync(CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (await CountAsync(_queue, ct) > 0)
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(Math.Min(o.DrainTimeoutSeconds, 120)))
            {
                progress.WriteLine("  the queue still holds messages of an earlier scenario; clearing it");
                await _queue.ClearMessagesAsync(ct);
                break;
            }
            await Task.Delay(200, ct);
        }
        await ClearPoisonAsync(ct);
    }

    private async Task ClearPoisonAsync(CancellationToken ct)
    {
        try
        {
            await _poison.ClearMessagesAsync(ct);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // no poison queue yet
        }
    }

    private static async Task<int> CountAsync(QueueClient queue, CancellationToken ct)
    {
        try
        {
            return (await queue.GetPropertiesAsync(ct)).Value.ApproximateMessagesCount;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return 0;
        }
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    internal static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return double.NaN;
        }
        int rank = (int)Math.Ceiling(p / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}

/// <summary>A scenario's figures by name, in the order they were recorded (the JSON keeps it).</summary>
internal sealed class Metrics : Dictionary<string, double>
{
    public Metrics() : base(StringComparer.Ordinal)
    {
    }

    /// <summary>The median of each figure across runs.</summary>
    public static Metrics Median(IReadOnlyList<Metrics> runs)
    {
        var median = new Metrics();
        foreach (var key in runs[0].Keys)
        {
            var values = runs.Select(r => r.TryGetValue(key, out double v) ? v : double.NaN).Where(v => !double.IsNaN(v)).Order().ToArray();
            median[key] = values.Length == 0 ? double.NaN
                : values.Length % 2 == 1 ? values[values.Length / 2]
                : (values[values.Length / 2 - 1] + values[values.Length / 2]) / 2;
        }
        return median;
    }

    public string ToJson()
    {
        var sb = new StringBuilder("{");
        bool first = true;
        foreach (var (k, v) in this)
        {
            sb.Append(first ? "" : ",").Append(JsonSerializer.Serialize(k)).Append(':')
              .Append(double.IsFinite(v) ? Math.Round(v, 3).ToString(System.Globalization.CultureInfo.InvariantCulture) : "null");
            first = false;
        }
        return sb.Append('}').ToString();
    }
}
