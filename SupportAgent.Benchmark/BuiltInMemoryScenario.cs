using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Azure.Storage.Queues;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.BuiltIn;
using SupportAgent.Functions.Storage;

namespace SupportAgent.Benchmark;

/// <summary>
/// Scenario m: the self host with the built-in memory store (no Mem0 setting) and users who already have 1,000
/// memories each. Seeds them through the store itself (this process, same Azurite), times searches at that size when
/// idle and during a chat load (a probe in this process, like the dependency probe of the other scenarios), runs the
/// chat load against those users (each chat searches 1,000 memories, and half of them also write one, so every write
/// hits a full index and drops the oldest), then puts a batch of new statements on the memory-writes queue and times
/// how fast the self host's writer lands them (embedding included). Peak working set over all of it.
/// </summary>
internal sealed class BuiltInMemoryScenario(BenchOptions o, Stack stack, FakesControl fakes, LoadDriver driver, ProcessMemory memory, TextWriter progress)
{
    public const int MemoriesPerUser = BuiltInMemoryStore.DefaultCapacity;
    private const int StatementsPerExchange = 50;

    // The follow-ups the load sends: half are statements (remembered: a write per chat), half pure questions (not).
    private static readonly string[] FollowUps =
    [
        "Any updates on my parcel?", "My replacement kettle, order #{0}, has not shipped yet.",
        "Has my refund come through?", "I moved last week, please use 9 Mill Lane for order #{0}.",
        "Can you check my delivery date?", "The charger in order #{0} is the wrong plug for the UK.",
        "What did I tell you about my allergy?", "Please send invoices for order #{0} to accounts@example.com.",
    ];

    private readonly string[] _users = Enumerable.Range(0, o.MemoryUsers).Select(i => $"bench-memory-{i}").ToArray();
    private static readonly MiniLmEmbeddingGenerator Model = new();
    private readonly StorageClients _storage = new(Options.Create(new StorageOptions { ConnectionString = stack.StorageConnectionString }));

    // Searches (the probe) embed every query, as the app does; seeding embeds each statement once for all users.
    private BuiltInMemoryStore Store => new(_storage, Model, new MemoryIndexCache(), TimeProvider.System);

    private BuiltInMemoryStore SeedStore => new(_storage, new CachingEmbeddings(Model), new MemoryIndexCache(), TimeProvider.System);

    public const double SearchP50LimitMs = 20;
    public const double SearchP99LimitMs = 60;
    public const double PeakWorkingSetLimitMb = 350;

    /// <summary>Zero-latency chats for a while (users of their own), so what is measured meets JIT-compiled code and a loaded model.</summary>
    public async Task JitWarmupAsync(CancellationToken ct)
    {
        if (o.JitWarmupSeconds <= 0)
        {
            return;
        }
        await fakes.ConfigureAsync(0, 0, 0, ct);
        var warm = await driver.RunAsync(o.Clients, TimeSpan.FromSeconds(o.JitWarmupSeconds), ct, requestFor:
            (client, n) => ($"bench-memory-warm-{client}", string.Format(CultureInfo.InvariantCulture, FollowUps[n % FollowUps.Length], 10_000 + n)));
        progress.WriteLine($"  JIT warm-up: {warm.Answered} chats, {warm.Errors} errors");
        await DrainQueueAsync(ct);
    }

    public async Task<Metrics> RunAsync(int run, CancellationToken ct)
    {
        var m = new Metrics();
        if (run == 1)
        {
            await SeedAsync(m, ct);
        }
        m["users"] = _users.Length;
        m["memoriesPerUser"] = MemoriesPerUser;

        // Searches with nothing else running: the store's own cost at 1,000 memories (embedding + one index read + top-k rows).
        var idle = await ProbeSearchesAsync(TimeSpan.FromSeconds(3), 200, ct);
        m["searchIdleP50Ms"] = ScenarioRunner.Percentile(idle, 50);
        m["searchIdleP99Ms"] = ScenarioRunner.Percentile(idle, 99);

        await fakes.ConfigureAsync(o.ModelLatencyMs, 0, 0, ct);
        await DrainQueueAsync(ct);
        memory.ResetPeak();
        using var sampling = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sampler = memory.SampleAsync(sampling.Token);
        int counter = run * 1_000_000;
        (string, string) Request(int client, int n)
        {
            int i = Interlocked.Increment(ref counter);
            string text = string.Format(CultureInfo.InvariantCulture, FollowUps[i % FollowUps.Length], 50_000 + i);
            return (_users[(client * 7 + n) % _users.Length], text);
        }
        if (o.WarmupSeconds > 0)
        {
            await driver.RunAsync(o.Clients, TimeSpan.FromSeconds(o.WarmupSeconds), ct, requestFor: Request);
            await DrainQueueAsync(ct);
        }

        // The chat load, with the search probe running alongside.
        var cpu = new CpuUsage(new Dictionary<string, int>(stack.Pids) { ["Driver"] = Environment.ProcessId });
        var cpuBefore = cpu.Take();
        using var probing = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var probe = ProbeSearchesAsync(TimeSpan.FromSeconds(o.DurationSeconds + 5), int.MaxValue, probing.Token);
        var load = await driver.RunAsync(o.Clients, TimeSpan.FromSeconds(o.DurationSeconds), ct, requestFor: Request);
        await probing.CancelAsync();
        var underLoad = await probe;
        var cpuAfter = cpu.Take();
        progress.WriteLine($"  load: {load.Answered} chats in {load.ElapsedSeconds:0.0} s, {load.Errors} errors; {underLoad.Length} probe searches");
        var lat = load.LatenciesMs.Order().ToArray();
        m["clients"] = o.Clients;
        m["requests"] = load.Answered + load.Errors;
        m["errors"] = load.Errors;
        m["rps"] = load.Answered / load.ElapsedSeconds;
        m["p50Ms"] = ScenarioRunner.Percentile(lat, 50);
        m["p99Ms"] = ScenarioRunner.Percentile(lat, 99);
        m["overheadP50Ms"] = m["p50Ms"] - o.ModelLatencyMs;
        m["overheadP99Ms"] = m["p99Ms"] - o.ModelLatencyMs;
        m["memoryOk"] = load.MemoryStatus.GetValueOrDefault("ok");
        m["memoryTimeout"] = load.MemoryStatus.GetValueOrDefault("timeout");
        m["memoryUnavailable"] = load.MemoryStatus.GetValueOrDefault("unavailable");
        m["notQueued"] = load.NotSaved;
        m["searchLoadP50Ms"] = ScenarioRunner.Percentile(underLoad, 50);
        m["searchLoadP99Ms"] = ScenarioRunner.Percentile(underLoad, 99);
        m["searchLoadSamples"] = underLoad.Length;
        CpuUsage.AddTo(m, cpuBefore, cpuAfter);
        m["cpuSelfHostMsPerChat"] = 1000 * m["cpuSelfHostS"] / Math.Max(1, load.Answered);
        await DrainQueueAsync(ct);

        // Writes: new statements for the seeded users straight onto the queue, as the chat function puts them there.
        await WritePhaseAsync(m, run, ct);

        await sampling.CancelAsync();
        await sampler;
        long hwm = memory.HwmKb ?? 0;
        m["peakWorkingSetMb"] = (memory.HwmIsPerScenario ? Math.Max(hwm, memory.SampledPeakKb) : memory.SampledPeakKb) / 1024.0;
        var (anon, file, shmem) = memory.RssParts;
        m["rssAnonMb"] = anon / 1024.0;
        m["rssFileMb"] = file / 1024.0;
        m["rssShmemMb"] = shmem / 1024.0;
        return m;
    }

    public static List<Goal> Goals(IReadOnlyList<Metrics> runs)
    {
        if (runs.Count == 0)
        {
            return [];
        }
        var m = Metrics.Median(runs);
        double peak = runs.Max(x => x["peakWorkingSetMb"]);
        double bad = runs.Sum(x => x["errors"] + x["memoryTimeout"] + x["memoryUnavailable"]);
        return
        [
            new($"m: search p50 ≤ {SearchP50LimitMs} ms at 1,000 memories per user (during the chat load)", "m", m["searchLoadP50Ms"], SearchP50LimitMs, m["searchLoadP50Ms"] <= SearchP50LimitMs, "ms"),
            new($"m: search p99 ≤ {SearchP99LimitMs} ms at 1,000 memories per user (during the chat load)", "m", m["searchLoadP99Ms"], SearchP99LimitMs, m["searchLoadP99Ms"] <= SearchP99LimitMs, "ms"),
            new($"m: peak working set ≤ {PeakWorkingSetLimitMb} MB with the built-in store (max of all runs)", "m", peak, PeakWorkingSetLimitMb, peak <= PeakWorkingSetLimitMb, "MB"),
            new("m: every chat answered with memory \"ok\" (no error, timeout or unavailable; all runs)", "m", bad, 0, bad == 0, "chats"),
        ];
    }

    public static string Table(BenchOptions o, IReadOnlyList<Metrics> runs)
    {
        if (runs.Count == 0)
        {
            return "";
        }
        var m = Metrics.Median(runs);
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine();
        string runsText = runs.Count > 1 ? $"medians of {runs.Count} runs" : "1 run";
        sb.AppendLine(inv, $"m built-in memory store: {m["users"]:0} users × {m["memoriesPerUser"]:0} memories, {m["clients"]:0} clients, model {o.ModelLatencyMs} ms, {o.DurationSeconds:0.#} s load; {runsText}");
        sb.AppendLine(inv, $"  chats: {m["requests"]:0} ({m["errors"]:0} errors), {m["rps"]:0.0} req/s, p50 {m["p50Ms"]:0.0} / p99 {m["p99Ms"]:0.0} ms; overhead (latency − model) p50 {m["overheadP50Ms"]:0.0} / p99 {m["overheadP99Ms"]:0.0} ms; memory ok/timeout/unavailable {m["memoryOk"]:0}/{m["memoryTimeout"]:0}/{m["memoryUnavailable"]:0}");
        sb.AppendLine(inv, $"  search (embedding + index row + top-5 rows, probe in the benchmark process on the same Azurite): idle p50 {m["searchIdleP50Ms"]:0.0} / p99 {m["searchIdleP99Ms"]:0.0} ms; during the load p50 {m["searchLoadP50Ms"]:0.0} / p99 {m["searchLoadP99Ms"]:0.0} ms ({m["searchLoadSamples"]:0} searches)");
        sb.AppendLine(inv, $"  writes: {m["writePhaseWrites"]:0} statements queued, landed in {m["writePhaseSeconds"]:0.0} s: {m["writesPerSecond"]:0.0} writes/s for one instance (embedding, index read and replace at the cap, oldest dropped)");
        sb.AppendLine(inv, $"  self host: peak working set {runs.Max(x => x["peakWorkingSetMb"]):0} MB (max of runs; at the end anon {m["rssAnonMb"]:0} / file {m["rssFileMb"]:0} / shmem {m["rssShmemMb"]:0} MB); CPU {m["cpuSelfHostMsPerChat"]:0.0} ms per chat; machine {m["cpuMachineBusyPct"]:0}% busy, other work {m["cpuOthersS"]:0.0} CPU-s");
        if (runs[0].TryGetValue("seedSeconds", out double seed))
        {
            sb.AppendLine(inv, $"  seeding: {m["users"]:0} users × {m["memoriesPerUser"]:0} memories through the store in {seed:0} s (fewest per user {runs[0]["seededFewestPerUser"]:0})");
        }
        return sb.ToString();
    }

    private async Task SeedAsync(Metrics m, CancellationToken ct)
    {
        var statements = Statements(MemoriesPerUser);
        var store = SeedStore;
        var clock = Stopwatch.StartNew();
        var start = DateTimeOffset.UtcNow.AddDays(-400);
        await Parallel.ForEachAsync(_users, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (user, token) =>
        {
            for (int chunk = 0; chunk * StatementsPerExchange < statements.Length; chunk++)
            {
                var turns = statements.Skip(chunk * StatementsPerExchange).Take(StatementsPerExchange)
                    .Select(t => new ChatTurn(ChatTurn.User, t)).Append(new ChatTurn(ChatTurn.Assistant, "Noted.")).ToArray();
                await store.AddAsync(new MemoryExchange($"seed-{user}-{chunk}", user, start.AddHours(chunk * 6), turns), token);
            }
        });
        int fewest = int.MaxValue;
        foreach (var user in _users)
        {
            int count = 0;
            string? next = null;
            do
            {
                var page = await store.ListAsync(user, 1000, next, ct);
                count += page.Items.Count;
                next = page.Next;
            }
            while (next is not null);
            fewest = Math.Min(fewest, count);
        }
        m["seedSeconds"] = clock.Elapsed.TotalSeconds;
        m["seededFewestPerUser"] = fewest;
        progress.WriteLine($"  seeded {_users.Length} users × {statements.Length} memories in {clock.Elapsed.TotalSeconds:0} s (fewest per user: {fewest})");
    }

    private async Task<double[]> ProbeSearchesAsync(TimeSpan duration, int maxSearches, CancellationToken ct)
    {
        var times = new List<double>();
        var store = Store;
        var clock = Stopwatch.StartNew();
        try
        {
            for (int i = 0; i < maxSearches && clock.Elapsed < duration; i++)
            {
                string query = string.Format(CultureInfo.InvariantCulture, FollowUps[i % FollowUps.Length], 90_000 + i);
                long t0 = Stopwatch.GetTimestamp();
                await store.SearchAsync(_users[i % _users.Length], query, 5, ct);
                times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                await Task.Delay(20, ct); // a probe, not a second load
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // the load ended
        }
        return [.. times.Order()];
    }

    private async Task WritePhaseAsync(Metrics m, int run, CancellationToken ct)
    {
        var queue = new QueueClient(stack.StorageConnectionString, Stack.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        int count = o.MemoryWrites;
        var last = new Dictionary<string, string>();
        var now = DateTimeOffset.UtcNow;
        var messages = new List<BinaryData>();
        for (int i = 0; i < count; i++)
        {
            string user = _users[i % _users.Length];
            string text = string.Format(CultureInfo.InvariantCulture, "For ticket {0}-{1} I need the {2} collected from my office, not my home.", run, i, Items[i % Items.Length]);
            last[user] = text;
            var message = new MemoryWriteMessage(MemoryWriteMessage.CurrentVersion, $"bench-write-{run}-{i}", user, now.AddMilliseconds(i),
                [new ChatTurn(ChatTurn.User, text), new ChatTurn(ChatTurn.Assistant, "Noted.")]);
            messages.Add(new BinaryData(message.ToUtf8Json()));
        }
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(messages, new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (body, token) => await queue.SendMessageAsync(body, cancellationToken: token));
        double enqueued = clock.Elapsed.TotalSeconds;
        // Done when every user's newest memory is the last statement sent for them (each write drops the oldest).
        var pending = new HashSet<string>(last.Keys);
        var store = Store;
        while (pending.Count > 0 && clock.Elapsed < TimeSpan.FromSeconds(o.DrainTimeoutSeconds))
        {
            foreach (var user in pending.ToArray())
            {
                var newest = await store.ListAsync(user, 1, null, ct);
                if (newest.Items.Count == 1 && newest.Items[0].Memory == last[user])
                {
                    pending.Remove(user);
                }
            }
            if (pending.Count > 0)
            {
                await Task.Delay(100, ct);
            }
        }
        await DrainQueueAsync(ct);
        double seconds = clock.Elapsed.TotalSeconds;
        m["writePhaseWrites"] = count;
        m["writePhaseSeconds"] = seconds;
        m["writePhaseEnqueueSeconds"] = enqueued;
        m["writesPerSecond"] = pending.Count == 0 ? count / seconds : double.NaN;
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  writes: {count} statements landed in {seconds:0.0} s ({m["writesPerSecond"]:0.0}/s){(pending.Count > 0 ? $", {pending.Count} users NOT done" : "")}"));
    }

    private async Task DrainQueueAsync(CancellationToken ct)
    {
        var queue = new QueueClient(stack.StorageConnectionString, Stack.QueueName);
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(o.DrainTimeoutSeconds))
        {
            if (!await queue.ExistsAsync(ct) || (await queue.GetPropertiesAsync(ct)).Value.ApproximateMessagesCount == 0)
            {
                return;
            }
            await Task.Delay(200, ct);
        }
        progress.WriteLine("  the memory-writes queue did not drain in time");
    }

    private static readonly string[] Items =
    [
        "lamp", "sofa", "kettle", "laptop", "printer", "jacket", "boots", "bike", "vase", "desk",
        "chair", "blender", "headphones", "tent", "camera", "guitar", "mattress", "rug", "oven", "drill",
    ];

    /// <summary>Distinct support statements, each with a number of its own (so none is another's near-duplicate).</summary>
    internal static string[] Statements(int count)
    {
        string[] templates =
        [
            "My order #{0} with the {1} arrived damaged.", "I bought a {1} on {2} and it stopped working, receipt {0}.",
            "Please deliver the {1} (order {0}) to my office.", "I'd like email updates about the {1}, ticket {0}.",
            "My mother uses the {1} from order {0} every {2}.", "The {1} in parcel {0} was the wrong colour.",
            "I returned the {1} on {2}, return number {0}.", "The {1} I ordered ({0}) is a gift for my sister.",
            "I paid for the {1} with my Visa ending {0}.", "The instructions for the {1} (model {0}) are missing.",
            "I'm still waiting for the refund of {0} euros for the {1}.", "The courier left the {1} at door {0} by mistake.",
            "I need an invoice for the {1}, customer number {0}.", "My warranty for the {1} runs until {2} {0}.",
            "The {1} from order {0} makes a loud noise.", "I want to exchange the {1} ({0}) for a bigger one.",
            "I use the {1} in my shop on {2}s, account {0}.", "The {1} was cheaper at your other store, price tag {0}.",
            "I have two of the {1}, serial numbers end in {0}.", "My neighbour at number {0} has my {1} parcel.",
        ];
        string[] days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
        var result = new string[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = string.Format(CultureInfo.InvariantCulture, templates[i % templates.Length], 1000 + i * 7, Items[i / templates.Length % Items.Length], days[i % days.Length]);
        }
        return result;
    }

    /// <summary>Seeding writes the same statements for every user: each is embedded once (the self host has no such cache).</summary>
    private sealed class CachingEmbeddings(IEmbeddingGenerator<string, Embedding<float>> inner) : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
    {
        private readonly ConcurrentDictionary<string, Embedding<float>> _cache = new(StringComparer.Ordinal);

        public override async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var texts = values.ToArray();
            var missing = texts.Where(t => !_cache.ContainsKey(t)).Distinct().ToArray();
            if (missing.Length > 0)
            {
                var generated = await base.GenerateAsync(missing, options, cancellationToken);
                for (int i = 0; i < missing.Length; i++)
                {
                    _cache[missing[i]] = generated[i];
                }
            }
            return new GeneratedEmbeddings<Embedding<float>>(texts.Select(t => _cache[t]));
        }
    }
}
