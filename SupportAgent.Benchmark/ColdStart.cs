using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Azure.Storage.Queues;
using SupportAgent.Fakes;

namespace SupportAgent.Benchmark;

/// <summary>
/// <c>--cold-start</c>: starts the self host (or, with <c>--host real</c>, the real Azure Functions host serving the
/// function app) N times against the running Azurite and fakes (all at 0 ms, so every millisecond is the service's
/// own) and times what a user of a freshly started instance sees: how long until the port accepts connections, how
/// long until the first chat is answered, that first chat's latency against warm ones, and whether it got the user's
/// memories (<c>"memory":"ok"</c>): its user is the same in every start, so from the second start on it has memories,
/// written by the previous one.
/// </summary>
internal static class ColdStart
{
    public const double ListeningLimitMs = 800;
    public const double FirstOverWarmLimitMs = 50;

    public static async Task<List<Metrics>> RunAsync(BenchOptions o, Stack stack, FakesControl fakes, PidFile pids, TextWriter progress, CancellationToken ct)
    {
        await fakes.ConfigureAsync(0, 0, 0, ct);
        // Every start but a deployment's very first finds the queue there already.
        var queue = new QueueClient(stack.StorageConnectionString, Stack.QueueName);
        await queue.CreateIfNotExistsAsync(cancellationToken: ct);
        bool real = o.Host == "real";
        string name = real ? "the Functions host" : "the self host";
        progress.WriteLine($"bench: cold start of {Subject(o)}, {o.Starts} times");

        var runs = new List<Metrics>();
        for (int i = 1; i <= o.Starts; i++)
        {
            // The port is chosen here and bound by the self host some hundreds of milliseconds later: on a busy machine
            // another process can take it in between. Only the child's own listening socket counts, and a start that
            // lost its port that way is started again on another one.
            int port;
            Stopwatch clock;
            ChildProcess host;
            int attempt = 0;
            while (true)
            {
                port = Loopback.FreePort();
                clock = Stopwatch.StartNew();
                string log = Path.Combine(o.OutputDir, $"coldstart-{i}.log");
                host = real ? stack.StartFunctionsHost(o, port, log, pids) : stack.StartSelfHost(o, port, log, pids);
                if (await WaitUntilListeningAsync(host, name, port, clock, i, ct))
                {
                    break;
                }
                await host.DisposeAsync();
                if (++attempt == 3)
                {
                    throw new InvalidOperationException($"Start {i}: three ports in a row were taken by other processes before {name} could listen.");
                }
                progress.WriteLine($"  start {i}: port {port} was taken by another process; starting again on another port");
            }
            await using var hostLifetime = host;
            double listening = clock.Elapsed.TotalMilliseconds;

            // A new client per start, as a user's browser or backend would be.
            // The real host enforces the function's authorization level: the chat carries a key, as a caller's would.
            using var driver = new LoadDriver(new Uri($"http://127.0.0.1:{port}/api/chat" + (real ? $"?code={Stack.FunctionsHostKey}" : "")), 1);
            var (first, firstBody) = await ChatAsync(driver, ReturningUser, host, ct);
            double firstReply = clock.Elapsed.TotalMilliseconds;
            var warm = new List<double>();
            for (int c = 1; c <= o.WarmChats; c++)
            {
                warm.Add((await ChatAsync(driver, $"cold-{i}-{c}", host, ct)).Ms);
            }
            double warmMs = Median(warm.Skip(warm.Count / 2));

            // Let this start's memory writes land, so the next start begins with an empty queue, as a measurement of
            // the start alone (a backlog would compete with the first chat for the CPU).
            await WaitForEmptyQueueAsync(queue, ct);

            long stopping = Stopwatch.GetTimestamp();
            await host.StopAsync(TimeSpan.FromSeconds(40));
            var m = new Metrics
            {
                ["listeningMs"] = listening,
                ["firstReplyMs"] = firstReply,
                ["firstChatMs"] = first,
                ["secondChatMs"] = warm[0],
                ["warmChatMs"] = warmMs,
                ["firstOverWarmMs"] = first - warmMs,
                ["stopMs"] = Stopwatch.GetElapsedTime(stopping).TotalMilliseconds,
                ["firstMemoryOk"] = MemoryStatus(firstBody) == "ok" ? 1 : 0,
                ["firstMemoriesUsed"] = MemoriesUsed(firstBody),
            };
            runs.Add(m);
            progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  start {i}: listening {listening:0} ms, first reply {firstReply:0} ms, first chat {first:0.0} ms (memory {MemoryStatus(firstBody)}, {m["firstMemoriesUsed"]:0} used), second {warm[0]:0.0} ms, warm {warmMs:0.0} ms, stop {m["stopMs"]:0} ms"));
        }
        return runs;
    }

    /// <summary>True once the child itself listens on the port; false if it exits because the port was taken.</summary>
    private static async Task<bool> WaitUntilListeningAsync(ChildProcess host, string name, int port, Stopwatch clock, int start, CancellationToken ct)
    {
        while (!(Loopback.IsListening(port) && ListensOn(host.Pid, port))) // the cheap check first, /proc only once it answers
        {
            if (host.HasExited)
            {
                return host.Tail().Contains("already in use", StringComparison.Ordinal)
                    ? false
                    : throw new InvalidOperationException($"{name} exited during start {start}. Its last output:{Environment.NewLine}{host.Tail()}");
            }
            if (clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                throw new TimeoutException($"{name} did not listen within 60 s (start {start}). Its last output:{Environment.NewLine}{host.Tail()}");
            }
            await Task.Delay(2, ct);
        }
        return true;
    }

    /// <summary>Whether the process holds a socket listening on 127.0.0.1:<paramref name="port"/> (from /proc, Linux).</summary>
    private static bool ListensOn(int pid, int port)
    {
        string hexPort = port.ToString("X4", CultureInfo.InvariantCulture);
        var inodes = File.ReadLines("/proc/net/tcp")
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length > 9 && f[1].EndsWith(":" + hexPort, StringComparison.Ordinal) && f[3] == "0A") // 0A: LISTEN
            .Select(f => $"socket:[{f[9]}]")
            .ToHashSet(StringComparer.Ordinal);
        if (inodes.Count == 0)
        {
            return false;
        }
        try
        {
            return Directory.EnumerateFiles($"/proc/{pid}/fd").Any(fd => new FileInfo(fd).LinkTarget is { } target && inodes.Contains(target));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false; // the process is gone
        }
    }

    /// <summary>The first chat's user in every start: from the second start on, a user with memories.</summary>
    private const string ReturningUser = "cold-returning-user";

    private static async Task<(double Ms, string Body)> ChatAsync(LoadDriver driver, string user, ChildProcess host, CancellationToken ct)
    {
        long t0 = Stopwatch.GetTimestamp();
        var (status, body) = await driver.SendOnceAsync(user, ct);
        double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        return status == 200
            ? (ms, body)
            : throw new InvalidOperationException($"A chat answered HTTP {status}: {body}. The host's last output:{Environment.NewLine}{host.Tail()}");
    }

    private static string MemoryStatus(string body) => Property(body, "memory") is { ValueKind: System.Text.Json.JsonValueKind.String } v ? v.GetString()! : "?";

    private static double MemoriesUsed(string body) => Property(body, "memoriesUsed") is { ValueKind: System.Text.Json.JsonValueKind.Number } v ? v.GetDouble() : 0;

    private static System.Text.Json.JsonElement? Property(string body, string name)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty(name, out var value) ? value.Clone() : null;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static async Task WaitForEmptyQueueAsync(QueueClient queue, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while ((await queue.GetPropertiesAsync(ct)).Value.ApproximateMessagesCount > 0 && clock.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(50, ct);
        }
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>What was started: the self host's dll, or the real host's script and the app it served.</summary>
    public static string Subject(BenchOptions o) => o.Host == "real"
        ? $"the Azure Functions host ({Stack.FunctionsHostScript()}) serving {Stack.FunctionsApp(o)}"
        : Stack.SelfHostDll(o);

    /// <summary>
    /// Every start's first chat gets its memories, on either host; the timing goals are the self host's (the real
    /// host's figures are what the platform's host costs).
    /// </summary>
    public static List<Goal> Goals(BenchOptions o, Metrics median, IReadOnlyList<Metrics> runs) => o.Host == "real" ? [MemoryGoal(runs)] :
    [
        MemoryGoal(runs),
        new($"listening ≤ {ListeningLimitMs} ms after the process starts (median)", "cold", median["listeningMs"], ListeningLimitMs,
            median["listeningMs"] <= ListeningLimitMs, "ms"),
        new($"first chat ≤ warm chat + {FirstOverWarmLimitMs} ms (median)", "cold", median["firstOverWarmMs"], FirstOverWarmLimitMs,
            median["firstOverWarmMs"] <= FirstOverWarmLimitMs, "ms over warm"),
    ];

    private static Goal MemoryGoal(IReadOnlyList<Metrics> runs) =>
        new("the first chat of every start gets the user's memories (\"memory\":\"ok\")", "cold", runs.Sum(r => r["firstMemoryOk"]), runs.Count,
            runs.All(r => r["firstMemoryOk"] == 1), $"of {runs.Count} starts");

    public static string Table(BenchOptions o, string subject, IReadOnlyList<Metrics> runs, Metrics median, IReadOnlyList<Goal> goals, DateTimeOffset started)
    {
        var sb = new StringBuilder();
        sb.AppendLine();
        sb.AppendLine($"SupportAgent cold start — {started:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription}, .NET {Environment.Version}");
        sb.AppendLine($"{subject}; {runs.Count} starts; fakes at 0 ms; warm = median of chats {o.WarmChats / 2 + 1}-{o.WarmChats} after the first");
        sb.AppendLine();
        string header = string.Format(CultureInfo.InvariantCulture, "{0,-8} {1,10} {2,12} {3,11} {4,10} {5,11} {6,9} {7,11} {8,8}",
            "start", "listen ms", "1st reply ms", "1st chat ms", "1st memory", "2nd chat ms", "warm ms", "1st - warm", "stop ms");
        sb.AppendLine(header);
        sb.AppendLine(new string('-', header.Length));
        for (int i = 0; i <= runs.Count; i++)
        {
            var m = i < runs.Count ? runs[i] : median;
            string memory = i < runs.Count
                ? (m["firstMemoryOk"] == 1 ? $"ok, {m["firstMemoriesUsed"]:0}" : "not ok")
                : $"{runs.Sum(r => r["firstMemoryOk"]):0}/{runs.Count} ok";
            sb.AppendLine(string.Format(CultureInfo.InvariantCulture, "{0,-8} {1,10:0} {2,12:0} {3,11:0.0} {4,10} {5,11:0.0} {6,9:0.0} {7,11:0.0} {8,8:0}",
                i < runs.Count ? (i + 1).ToString(CultureInfo.InvariantCulture) : "median", m["listeningMs"], m["firstReplyMs"], m["firstChatMs"], memory,
                m["secondChatMs"], m["warmChatMs"], m["firstOverWarmMs"], m["stopMs"]));
        }
        sb.AppendLine();
        foreach (var g in goals)
        {
            sb.AppendLine(string.Format(CultureInfo.InvariantCulture, "{0}  {1}: {2:0.#} {3}", g.Pass ? "PASS" : "MISS", g.Name, g.Value, g.Unit));
        }
        sb.AppendLine();
        sb.AppendLine("listen = process start to the port accepting connections; 1st reply = process start to the first chat's reply (sent");
        sb.AppendLine("as soon as the port listens); 1st memory = that chat's \"memory\" (ok, and memories used: its user has some from the");
        sb.AppendLine("second start on); stop = SIGTERM to exit.");
        return sb.ToString();
    }

    public static string Json(BenchOptions o, string subject, IReadOnlyList<Metrics> runs, Metrics median, IReadOnlyList<Goal> goals, DateTimeOffset started) =>
        "{\"benchmark\":\"supportagent-coldstart\"" +
        $",\"date\":\"{started.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture)}\"" +
        $",\"cores\":{Environment.ProcessorCount},\"dotnet\":\"{Environment.Version}\"" +
        $",\"host\":\"{o.Host}\",\"started\":{System.Text.Json.JsonSerializer.Serialize(subject)}" +
        $",\"median\":{median.ToJson()},\"runs\":[{string.Join(",", runs.Select(r => r.ToJson()))}]" +
        ",\"goals\":[" + string.Join(",", goals.Select(g => string.Create(CultureInfo.InvariantCulture,
            $"{{\"goal\":{System.Text.Json.JsonSerializer.Serialize(g.Name, Report.Readable)},\"value\":{Math.Round(g.Value, 1)},\"limit\":{g.Limit},\"pass\":{(g.Pass ? "true" : "false")}}}"))) +
        "]}";
}
