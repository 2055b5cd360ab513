using System.Globalization;
using System.Text;
using System.Text.Json;
using SupportAgent.Fakes;

namespace SupportAgent.Benchmark;

/// <summary>
/// --limits: what the per-user limits (issue 17) cost and how exact they are.
/// 1. Added latency: scenarios a and b (default latencies, --clients and --clients-high clients) on a self host with
///    limits off (USER_REQUESTS_PER_MINUTE=0) and on (a limit no client reaches, so every request is counted and none
///    refused), alternating, --runs times; the medians' p50/p99 difference is what the limiter adds.
/// 2. Exactness: two self hosts on one Azurite with USER_REQUESTS_PER_MINUTE=20; in each round, users each send
///    <see cref="BurstPerInstance"/> requests to both instances at once, inside one UTC minute; the answered count per
///    user against the limit (overshoot: admitted beyond it; undershoot: refused below it).
/// </summary>
internal static class LimitsBench
{
    private const int ExactLimit = 20;
    private const int BurstPerInstance = 30;
    private const int BurstUsers = 4;
    private const int Rounds = 5;

    public static async Task<int> RunAsync(BenchOptions o, PidFile pids, TextWriter progress, CancellationToken ct)
    {
        var latency = new Dictionary<(string Mode, string Scenario), List<Metrics>>();
        foreach (var run in Enumerable.Range(1, o.Runs))
        {
            foreach (var mode in new[] { "off", "on" })
            {
                var env = new Dictionary<string, string>(o.SelfHostEnv) { ["USER_REQUESTS_PER_MINUTE"] = mode == "on" ? "100000" : "0" };
                var oo = o with { SelfHostEnv = env };
                await using var stack = await Stack.StartAsync(oo, pids, ct);
                using var driver = new LoadDriver(stack.ChatUrl, o.ClientsHigh);
                using var control = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
                var fakes = new FakesControl(control, stack.OpenAiUrl, stack.Mem0Url);
                await stack.WaitForSelfHostAsync(driver, ct);
                using var probeHttp = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
                var probe = new StageProbe(probeHttp, stack.OpenAiUrl, stack.Mem0Url, Stack.Mem0Key, Stack.OpenAiKey,
                    new Azure.Storage.Queues.QueueClient(stack.StorageConnectionString, "bench-probe"));
                var runner = new ScenarioRunner(oo, stack, fakes, driver, new ProcessMemory(stack.SelfHost.Pid), probe, progress);
                progress.WriteLine($"bench: limits {mode}, run {run}/{o.Runs}: JIT warm-up");
                await runner.JitWarmupAsync(o.ClientsHigh, stream: false, ct);
                foreach (var key in new[] { "a", "b" })
                {
                    var scenario = Scenario.For(key, o);
                    progress.WriteLine($"bench: limits {mode}, run {run}/{o.Runs}, scenario {key} ({scenario.Title})");
                    var m = await runner.RunAsync(scenario, ct);
                    progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {m["rps"]:0.0} req/s, p50 {m["p50Ms"]:0.0} ms, p99 {m["p99Ms"]:0.0} ms, errors {m["errors"]:0}"));
                    (latency.TryGetValue((mode, key), out var list) ? list : latency[(mode, key)] = []).Add(m);
                }
            }
        }

        var exact = await ExactnessAsync(o, pids, progress, ct);

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"Per-user limits: added latency (medians of {o.Runs} run(s); model {o.ModelLatencyMs} ms, search {o.SearchLatencyMs} ms)");
        report.AppendLine("| clients | p50 off | p50 on | added p50 | p99 off | p99 on | added p99 | errors on |");
        report.AppendLine("|---|---|---|---|---|---|---|---|");
        var json = new Dictionary<string, object>();
        foreach (var key in new[] { "a", "b" })
        {
            var off = Metrics.Median(latency[("off", key)]);
            var on = Metrics.Median(latency[("on", key)]);
            report.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"| {on["clients"]:0} | {off["p50Ms"]:0.0} | {on["p50Ms"]:0.0} | {on["p50Ms"] - off["p50Ms"]:+0.0;-0.0} | {off["p99Ms"]:0.0} | {on["p99Ms"]:0.0} | {on["p99Ms"] - off["p99Ms"]:+0.0;-0.0} | {on["errors"]:0} |"));
            json[$"addedP50Ms@{on["clients"]:0}"] = Math.Round(on["p50Ms"] - off["p50Ms"], 1);
            json[$"addedP99Ms@{on["clients"]:0}"] = Math.Round(on["p99Ms"] - off["p99Ms"], 1);
        }
        report.AppendLine();
        report.AppendLine(CultureInfo.InvariantCulture,
            $"Exactness: 2 self hosts, USER_REQUESTS_PER_MINUTE={ExactLimit}, {exact.Bursts} bursts of {2 * BurstPerInstance} concurrent requests (one user, both instances)");
        report.AppendLine(CultureInfo.InvariantCulture,
            $"answered per burst: min {exact.Answered.Min()}, max {exact.Answered.Max()}; overshoot max {exact.Answered.Max() - ExactLimit}, undershoot max {ExactLimit - exact.Answered.Min()}; other statuses {exact.Other}");
        json["bursts"] = exact.Bursts;
        json["answeredMin"] = exact.Answered.Min();
        json["answeredMax"] = exact.Answered.Max();
        json["limit"] = ExactLimit;
        json["otherStatuses"] = exact.Other;
        Console.Write(report);
        Console.WriteLine(JsonSerializer.Serialize(json));
        File.WriteAllText(Path.Combine(o.OutputDir, "limits.txt"), report.ToString());
        return 0;
    }

    private static async Task<(int Bursts, List<int> Answered, int Other)> ExactnessAsync(BenchOptions o, PidFile pids, TextWriter progress, CancellationToken ct)
    {
        var env = new Dictionary<string, string>(o.SelfHostEnv) { ["USER_REQUESTS_PER_MINUTE"] = ExactLimit.ToString(CultureInfo.InvariantCulture) };
        var oo = o with { SelfHostEnv = env };
        await using var stack = await Stack.StartAsync(oo, pids, ct);
        int secondPort = Loopback.FreePort();
        await using var second = stack.StartSelfHost(oo, secondPort, Path.Combine(o.OutputDir, "selfhost-2.log"), pids);
        var urls = new[] { stack.ChatUrl, new Uri($"http://127.0.0.1:{secondPort}/api/chat") };
        var drivers = urls.Select(u => new LoadDriver(u, BurstPerInstance * BurstUsers)).ToArray();
        try
        {
            using var control = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            await new FakesControl(control, stack.OpenAiUrl, stack.Mem0Url).ConfigureAsync(0, 0, 0, ct);
            await stack.WaitForSelfHostAsync(drivers[0], ct);
            for (int attempt = 0; ; attempt++)
            {
                try
                {
                    if ((await drivers[1].SendOnceAsync($"bench-ready2-{attempt}", ct)).Status == 200)
                    {
                        break;
                    }
                }
                catch (HttpRequestException) when (attempt < 300 && !second.HasExited)
                {
                }
                await Task.Delay(200, ct);
            }
            progress.WriteLine("bench: exactness: two self hosts ready");

            var answered = new List<int>();
            int other = 0, round = 0;
            while (round < Rounds)
            {
                // Inside one UTC minute: start in its first 40 s, and repeat a round that ended in the next minute.
                var now = DateTimeOffset.UtcNow;
                if (now.Second is < 2 or >= 40)
                {
                    await Task.Delay(TimeSpan.FromSeconds((62 - now.Second) % 60 + 1), ct);
                    continue;
                }
                string minute = now.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture);
                var users = Enumerable.Range(0, BurstUsers).Select(u => $"bench-limit-{round}-{u}-{Guid.NewGuid():N}"[..32]).ToArray();
                var sends = users.SelectMany(user => drivers.SelectMany(d => Enumerable.Range(0, BurstPerInstance).Select(async _ => (user, (await d.SendOnceAsync(user, ct)).Status))));
                var results = await Task.WhenAll(sends);
                if (DateTimeOffset.UtcNow.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture) != minute)
                {
                    progress.WriteLine("  a burst crossed a minute boundary; repeated");
                    continue;
                }
                foreach (var user in users)
                {
                    answered.Add(results.Count(r => r.user == user && r.Status == 200));
                }
                other += results.Count(r => r.Status is not (200 or 429));
                progress.WriteLine($"  round {round + 1}/{Rounds}: answered per user {string.Join(", ", answered.TakeLast(BurstUsers))} (limit {ExactLimit})");
                round++;
            }
            return (answered.Count, answered, other);
        }
        finally
        {
            foreach (var d in drivers)
            {
                d.Dispose();
            }
        }
    }
}
