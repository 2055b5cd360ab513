using System.Globalization;

namespace SupportAgent.Benchmark;

/// <summary>The command line (and BENCH_* environment variables for the latencies). Every default is the issue's.</summary>
internal sealed record BenchOptions
{
    public IReadOnlyList<string> Scenarios { get; init; } = ["a", "b", "c", "d", "e", "s", "t"];

    public int Clients { get; init; } = 8;

    public int ClientsHigh { get; init; } = 32;

    public int ZeroClients { get; init; } = 32;

    public double DurationSeconds { get; init; } = 20;

    public double WarmupSeconds { get; init; } = 3;

    /// <summary>
    /// Scenario c's load. Shorter by default: every chat leaves a queue message, and Azurite (single-threaded, each
    /// dequeue walking the whole queue) drains a backlog of thousands more and more slowly.
    /// </summary>
    public double ZeroDurationSeconds { get; init; } = 10;

    /// <summary>Zero-latency load once after start-up, so every scenario meets JIT-compiled (tier-1) code.</summary>
    public double JitWarmupSeconds { get; init; } = 5;

    public int Runs { get; init; } = 1;

    public int ModelLatencyMs { get; init; } = 800;

    public int SearchLatencyMs { get; init; } = 150;

    public int AddLatencyMs { get; init; } = 400;

    /// <summary>Scenarios s and t: the streamed model's time to first token.</summary>
    public int StreamFirstTokenMs { get; init; } = 300;

    /// <summary>Scenarios s and t: the streamed model's whole reply, first token included.</summary>
    public int StreamTotalMs { get; init; } = 1500;

    /// <summary>Scenario d: the slow Mem0 search.</summary>
    public int SlowSearchMs { get; init; } = 2000;

    /// <summary>Scenario e: how long Mem0 add answers 500 from the start of the load.</summary>
    public double AddFailSeconds { get; init; } = 10;

    /// <summary>The app's MEMORY_SEARCH_TIMEOUT_MS, passed to the self host.</summary>
    public int SearchBudgetMs { get; init; } = 1000;

    /// <summary>Longest wait for the queue to drain after a load (scenario e needs the 30 s visibility timeout once).</summary>
    public double DrainTimeoutSeconds { get; init; } = 150;

    /// <summary>--cold-start: no load scenarios; start the self host <see cref="Starts"/> times and time its first minutes.</summary>
    public bool ColdStart { get; init; }

    public int Starts { get; init; } = 10;

    /// <summary>Chats after the first one in each cold start; the warm latency is the median of the last half of them.</summary>
    public int WarmChats { get; init; } = 20;

    /// <summary>The self host to run; default the ReadyToRun publish output in artifacts/selfhost.</summary>
    public string SelfHostDll { get; init; } = "";

    /// <summary>--cold-start's host: "selfhost" (the default) or "real", the Azure Functions host that FUNCTIONS_HOST_START starts.</summary>
    public string Host { get; init; } = "selfhost";

    /// <summary>--host real: the function app it serves; default the ReadyToRun publish output in artifacts/functions.</summary>
    public string FunctionsApp { get; init; } = "";

    /// <summary>off (OTEL_SDK_DISABLED=true), on (the default: spans and metrics, no exporter) or otlp (OTLP/http to a local sink).</summary>
    public string Telemetry { get; init; } = "on";

    public string RepoRoot { get; init; } = "";

    public string OutputDir { get; init; } = "";

    /// <summary>Scenario m: users seeded with 1,000 memories each.</summary>
    public int MemoryUsers { get; init; } = 16;

    /// <summary>Scenario m: statements put on the memory-writes queue to time the writer.</summary>
    public int MemoryWrites { get; init; } = 400;

    /// <summary>Extra environment for the self host (NAME=VALUE), e.g. to try a setting without a code change.</summary>
    public IReadOnlyDictionary<string, string> SelfHostEnv { get; init; } = new Dictionary<string, string>();

    public const string Usage = """
        usage: scripts/bench.sh [options]      (or: dotnet SupportAgent.Benchmark/bin/Release/net10.0/SupportAgent.Benchmark.dll [options])
          --scenarios LIST        comma-separated, default a,b,c,d,e,s,t:
                                    a  default latencies, --clients clients
                                    b  default latencies, --clients-high clients
                                    c  zero latency (all fakes 0 ms), --zero-clients clients
                                    d  fault: Mem0 search --slow-search-ms (past the search budget), --clients clients
                                    e  fault: Mem0 add answers 500 for the first --add-fail-seconds of the load, --clients clients
                                    s  streamed replies (Accept: text/event-stream), --clients clients: time to first text
                                    t  streamed replies, --clients-high clients
                                    m  (not in the default list) the built-in memory store, no Mem0: --memory-users users
                                       with 1,000 memories each, --clients clients; search p50/p99, chat overhead,
                                       writes/s, peak working set; on a self host of its own, after the others
          --clients N             default 8
          --clients-high N        default 32
          --zero-clients N        default 32
          --duration S            seconds of measured load per scenario (default 20)
          --zero-duration S       scenario c's load (default 10: the backlog it leaves drains slowly through Azurite)
          --warmup S              seconds of unmeasured load before each scenario (default 3)
          --jit-warmup S          seconds of zero-latency load once after start-up, so the JIT has optimised the
                                  hot paths of the self host and the driver before anything is measured (default 5)
          --runs N                repeat every scenario N times; the table shows medians (default 1)
          --quick                 --duration 5 --zero-duration 5 --warmup 1 --jit-warmup 2 (a smoke run)
          --model-latency-ms N    fake model latency (default 800; env BENCH_MODEL_LATENCY_MS)
          --search-latency-ms N   fake Mem0 search latency (default 150; env BENCH_SEARCH_LATENCY_MS)
          --add-latency-ms N      fake Mem0 add latency (default 400; env BENCH_ADD_LATENCY_MS)
          --stream-first-token-ms N  s, t: the model's time to first token (default 300)
          --stream-total-ms N     s, t: the model's whole streamed reply, first token included (default 1500)
          --slow-search-ms N      scenario d's search latency (default 2000)
          --add-fail-seconds S    scenario e's failure window (default 10)
          --search-budget-ms N    the app's MEMORY_SEARCH_TIMEOUT_MS (default 1000)
          --drain-timeout S       longest wait for memory writes after a load (default 150)
          --telemetry MODE        off (OTEL_SDK_DISABLED=true), on (default: tracing and metrics, no exporter) or
                                  otlp (also exported over OTLP/http to a sink in the fakes process)
          --memory-users N        scenario m: users seeded with 1,000 memories each (default 16)
          --memory-writes N       scenario m: statements queued to time the memory writer (default 400)
          --selfhost-env K=V      extra environment variable for the self host, or the real host (repeatable)
          --output DIR            logs and results (default artifacts/bench)
          --combine FILE...       no run: medians over earlier runs' results.json files (each run stays short)
          --cold-start            no load scenarios: start the self host --starts times (fakes at 0 ms) and report time
                                  to listening, time to the first reply, and the first chat's latency against a warm one
          --starts N              cold starts to measure (default 10; medians are reported)
          --warm-chats N          chats after the first in each start; warm = median of the last half (default 20)
          --selfhost-dll PATH     the self host to run (default artifacts/selfhost/SupportAgent.SelfHost.dll, the
                                  ReadyToRun publish that scripts/bench.sh makes; e.g. a plain build's dll to compare)
          --host selfhost|real    --cold-start under the self host (default) or under the real Azure Functions host,
                                  started by the script FUNCTIONS_HOST_START names (run as SCRIPT SCRIPT_ROOT PORT, like
                                  the host's start-host.sh): host start to the first chat answered, first chat vs warm
          --functions-app DIR     --host real: the function app to serve (default artifacts/functions, the ReadyToRun
                                  publish that scripts/bench.sh makes, as deployed)
        """;

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions
        {
            ModelLatencyMs = EnvInt("BENCH_MODEL_LATENCY_MS") ?? 800,
            SearchLatencyMs = EnvInt("BENCH_SEARCH_LATENCY_MS") ?? 150,
            AddLatencyMs = EnvInt("BENCH_ADD_LATENCY_MS") ?? 400,
        };
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
            int Int(int min, int max)
            {
                string text = Value();
                return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
                    ? n
                    : throw new ArgumentException($"{name} must be a whole number from {min} to {max}, not '{text}'.");
            }
            double Seconds(double min, double max)
            {
                string text = Value();
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s >= min && s <= max
                    ? s
                    : throw new ArgumentException($"{name} must be a number of seconds from {min} to {max}, not '{text}'.");
            }
            o = name switch
            {
                "--scenarios" => o with { Scenarios = ParseScenarios(Value()) },
                "--clients" => o with { Clients = Int(1, 512) },
                "--clients-high" => o with { ClientsHigh = Int(1, 512) },
                "--zero-clients" => o with { ZeroClients = Int(1, 512) },
                "--duration" => o with { DurationSeconds = Seconds(1, 300) },
                "--warmup" => o with { WarmupSeconds = Seconds(0, 60) },
                "--zero-duration" => o with { ZeroDurationSeconds = Seconds(1, 300) },
                "--jit-warmup" => o with { JitWarmupSeconds = Seconds(0, 60) },
                "--runs" => o with { Runs = Int(1, 10) },
                "--quick" => o with { DurationSeconds = 5, ZeroDurationSeconds = 5, WarmupSeconds = 1, JitWarmupSeconds = 2 },
                "--model-latency-ms" => o with { ModelLatencyMs = Int(0, 60_000) },
                "--search-latency-ms" => o with { SearchLatencyMs = Int(0, 60_000) },
                "--add-latency-ms" => o with { AddLatencyMs = Int(0, 60_000) },
                "--stream-first-token-ms" => o with { StreamFirstTokenMs = Int(0, 60_000) },
                "--stream-total-ms" => o with { StreamTotalMs = Int(0, 60_000) },
                "--slow-search-ms" => o with { SlowSearchMs = Int(0, 60_000) },
                "--add-fail-seconds" => o with { AddFailSeconds = Seconds(0.1, 300) },
                "--search-budget-ms" => o with { SearchBudgetMs = Int(10, 60_000) },
                "--drain-timeout" => o with { DrainTimeoutSeconds = Seconds(1, 540) },
                "--memory-users" => o with { MemoryUsers = Int(1, 200) },
                "--memory-writes" => o with { MemoryWrites = Int(1, 20_000) },
                "--output" => o with { OutputDir = Value() },
                "--selfhost-env" => AddEnv(o, Value(), env),
                "--cold-start" => o with { ColdStart = true },
                "--starts" => o with { Starts = Int(1, 100) },
                "--warm-chats" => o with { WarmChats = Int(2, 1000) },
                "--selfhost-dll" => o with { SelfHostDll = Value() },
                "--host" => o with
                {
                    Host = Value() is "selfhost" or "real" ? args[i] : throw new ArgumentException($"--host must be selfhost or real, not '{args[i]}'."),
                },
                "--functions-app" => o with { FunctionsApp = Value() },

                "--telemetry" => o with
                {
                    Telemetry = Value() is "off" or "on" or "otlp" ? args[i] : throw new ArgumentException($"--telemetry must be off, on or otlp, not '{args[i]}'."),
                },
                _ => throw new ArgumentException($"unknown option '{name}'."),
            };
        }
        if (o.StreamTotalMs < o.StreamFirstTokenMs)
        {
            throw new ArgumentException("--stream-total-ms must be at least --stream-first-token-ms (the whole reply includes its first token).");
        }
        return o with { SelfHostEnv = env };
    }

    private static BenchOptions AddEnv(BenchOptions o, string pair, Dictionary<string, string> env)
    {
        int eq = pair.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0)
        {
            throw new ArgumentException($"--selfhost-env needs NAME=VALUE, not '{pair}'.");
        }
        env[pair[..eq]] = pair[(eq + 1)..];
        return o;
    }

    private static List<string> ParseScenarios(string text)
    {
        var keys = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(k => k.ToLowerInvariant()).ToList();
        foreach (var key in keys)
        {
            if (key is not ("a" or "b" or "c" or "d" or "e" or "s" or "t" or "m"))
            {
                throw new ArgumentException($"unknown scenario '{key}'; use a, b, c, d, e, s, t, m.");
            }
        }
        return keys.Count == 0 ? throw new ArgumentException("--scenarios needs at least one scenario.") : keys;
    }

    private static int? EnvInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 0 ? n : null;
}
