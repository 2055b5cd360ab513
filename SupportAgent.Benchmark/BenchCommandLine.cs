using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Numerics;

namespace SupportAgent.Benchmark;

/// <summary>
/// The benchmark's command line (System.CommandLine): every option with its default, range and help, and the
/// BENCH_* environment variables for the fake latencies. <see cref="Bind"/> turns a parse into <see cref="BenchOptions"/>.
/// </summary>
internal sealed class BenchCommandLine
{
    private static readonly string[] ScenarioKeys = ["a", "b", "c", "d", "e", "s", "t", "m"];
    private static readonly BenchOptions Defaults = new();

    private readonly Option<IReadOnlyList<string>> _scenarios = new("--scenarios")
    {
        HelpName = "list",
        Description = "Comma-separated, default a,b,c,d,e,s,t: a default latencies, --clients clients; b default latencies, " +
            "--clients-high clients; c zero latency (all fakes 0 ms), --zero-clients clients; d Mem0 search --slow-search-ms " +
            "(past the search budget); e Mem0 add answers 500 for the first --add-fail-seconds; s streamed replies " +
            "(time to first text), --clients clients; t streamed, --clients-high clients; m (not in the default list) the " +
            "built-in memory store: --memory-users users with 1,000 memories each, on a self host of its own",
        DefaultValueFactory = _ => Defaults.Scenarios,
        CustomParser = ParseScenarios,
    };

    private readonly Option<int> _clients = Int("--clients", Defaults.Clients, 1, 512, "Clients of scenarios a, d, e, s, m");
    private readonly Option<int> _clientsHigh = Int("--clients-high", Defaults.ClientsHigh, 1, 512, "Clients of scenarios b and t");
    private readonly Option<int> _zeroClients = Int("--zero-clients", Defaults.ZeroClients, 1, 512, "Clients of scenario c");
    private readonly Option<double> _duration = Seconds("--duration", Defaults.DurationSeconds, 1, 300, "Seconds of measured load per scenario");
    private readonly Option<double> _zeroDuration = Seconds("--zero-duration", Defaults.ZeroDurationSeconds, 1, 300, "Scenario c's load (short: the backlog it leaves drains slowly through Azurite)");
    private readonly Option<double> _warmup = Seconds("--warmup", Defaults.WarmupSeconds, 0, 60, "Seconds of unmeasured load before each scenario");
    private readonly Option<double> _jitWarmup = Seconds("--jit-warmup", Defaults.JitWarmupSeconds, 0, 60, "Seconds of zero-latency load once after start-up, so the JIT has optimised the hot paths before anything is measured");
    private readonly Option<int> _runs = Int("--runs", Defaults.Runs, 1, 10, "Repeat every scenario N times; the table shows medians");
    private readonly Option<bool> _quick = new("--quick") { Description = "--duration 5 --zero-duration 5 --warmup 1 --jit-warmup 2 unless given (a smoke run)" };
    private readonly Option<int> _modelLatency = Int("--model-latency-ms", EnvInt("BENCH_MODEL_LATENCY_MS") ?? Defaults.ModelLatencyMs, 0, 60_000, "Fake model latency (env BENCH_MODEL_LATENCY_MS)");
    private readonly Option<int> _searchLatency = Int("--search-latency-ms", EnvInt("BENCH_SEARCH_LATENCY_MS") ?? Defaults.SearchLatencyMs, 0, 60_000, "Fake Mem0 search latency (env BENCH_SEARCH_LATENCY_MS)");
    private readonly Option<int> _addLatency = Int("--add-latency-ms", EnvInt("BENCH_ADD_LATENCY_MS") ?? Defaults.AddLatencyMs, 0, 60_000, "Fake Mem0 add latency (env BENCH_ADD_LATENCY_MS)");
    private readonly Option<int> _streamFirstToken = Int("--stream-first-token-ms", Defaults.StreamFirstTokenMs, 0, 60_000, "Scenarios s, t: the model's time to first token");
    private readonly Option<int> _streamTotal = Int("--stream-total-ms", Defaults.StreamTotalMs, 0, 60_000, "Scenarios s, t: the model's whole streamed reply, first token included");
    private readonly Option<int> _slowSearch = Int("--slow-search-ms", Defaults.SlowSearchMs, 0, 60_000, "Scenario d's search latency");
    private readonly Option<double> _addFail = Seconds("--add-fail-seconds", Defaults.AddFailSeconds, 0.1, 300, "Scenario e's failure window");
    private readonly Option<int> _searchBudget = Int("--search-budget-ms", Defaults.SearchBudgetMs, 10, 60_000, "The app's MEMORY_SEARCH_TIMEOUT_MS");
    private readonly Option<double> _drainTimeout = Seconds("--drain-timeout", Defaults.DrainTimeoutSeconds, 1, 540, "Longest wait for memory writes after a load");
    private readonly Option<string> _telemetry = Choice("--telemetry", Defaults.Telemetry, "off (OTEL_SDK_DISABLED=true), on (tracing and metrics, no exporter) or otlp (also exported over OTLP/http to a sink in the fakes process)", "off", "on", "otlp");
    private readonly Option<int> _memoryUsers = Int("--memory-users", Defaults.MemoryUsers, 1, 200, "Scenario m: users seeded with 1,000 memories each");
    private readonly Option<int> _memoryWrites = Int("--memory-writes", Defaults.MemoryWrites, 1, 20_000, "Scenario m: statements queued to time the memory writer");
    private readonly Option<string[]> _selfHostEnv = new("--selfhost-env")
    {
        HelpName = "NAME=VALUE",
        Description = "Extra environment variable for the self host, or the real host (repeatable)",
    };
    private readonly Option<string?> _output = new("--output") { HelpName = "dir", Description = "Logs and results (default artifacts/bench)" };
    private readonly Option<string[]> _combine = new("--combine")
    {
        HelpName = "file",
        Description = "No run: medians over earlier runs' results.json files (each run stays short)",
        AllowMultipleArgumentsPerToken = true,
    };
    private readonly Option<bool> _memoryEval = new("--memory-eval") { Description = "No load: the memory evaluation (scripts/eval-memory.sh)" };
    private readonly Option<bool> _limits = new("--limits") { Description = "No load scenarios: the per-user limits' added latency p50/p99 at --clients and --clients-high clients (limits off vs on, --runs times) and their exactness across two self hosts on one Azurite (docs/limits.md)" };
    private readonly Option<bool> _coldStart = new("--cold-start") { Description = "No load scenarios: start the host --starts times (fakes at 0 ms) and report time to listening, to the first reply, and the first chat against a warm one" };
    private readonly Option<bool> _longConversation = new("--long-conversation") { Description = "No load scenarios: replay a --turns support conversation as useChat sends it (the whole history every turn), with the token budget and sent whole, and report prompt tokens per turn, the total input and the reducer's time per call" };
    private readonly Option<int> _turns = Int("--turns", Defaults.Turns, 2, 1_000, "--long-conversation: turns of the conversation");
    private readonly Option<int> _starts = Int("--starts", Defaults.Starts, 1, 100, "Cold starts to measure (medians are reported)");
    private readonly Option<int> _warmChats = Int("--warm-chats", Defaults.WarmChats, 2, 1000, "Chats after the first in each start; warm = median of the last half");
    private readonly Option<string?> _selfHostDll = new("--selfhost-dll") { HelpName = "path", Description = "The self host to run (default artifacts/selfhost/SupportAgent.SelfHost.dll, the ReadyToRun publish that scripts/bench.sh makes)" };
    private readonly Option<string> _host = Choice("--host", Defaults.Host, "--cold-start under the self host or under the real Azure Functions host, started by the script FUNCTIONS_HOST_START names (run as SCRIPT SCRIPT_ROOT PORT)", "selfhost", "real");
    private readonly Option<string?> _functionsApp = new("--functions-app") { HelpName = "dir", Description = "--host real: the function app to serve (default artifacts/functions, the ReadyToRun publish)" };

    public BenchCommandLine()
    {
        Command = new RootCommand("The chat endpoint's benchmark: starts Azurite, the fakes and the self host, drives POST /api/chat, prints a table and one JSON line (scripts/bench.sh).")
        {
            _scenarios, _clients, _clientsHigh, _zeroClients, _duration, _zeroDuration, _warmup, _jitWarmup, _runs, _quick,
            _modelLatency, _searchLatency, _addLatency, _streamFirstToken, _streamTotal, _slowSearch, _addFail, _searchBudget,
            _drainTimeout, _telemetry, _memoryUsers, _memoryWrites, _selfHostEnv, _output, _combine, _memoryEval, _coldStart, _limits,
            _starts, _warmChats, _selfHostDll, _host, _functionsApp, _longConversation, _turns,
        };
        _selfHostEnv.Validators.Add(r =>
        {
            foreach (var pair in r.GetValueOrDefault<string[]>() ?? [])
            {
                if (pair.IndexOf('=', StringComparison.Ordinal) <= 0)
                {
                    r.AddError($"--selfhost-env needs NAME=VALUE, not '{pair}'.");
                }
            }
        });
        Command.Validators.Add(r =>
        {
            if (r.GetValue(_streamTotal) < r.GetValue(_streamFirstToken))
            {
                r.AddError("--stream-total-ms must be at least --stream-first-token-ms (the whole reply includes its first token).");
            }
        });
    }

    public RootCommand Command { get; }

    /// <summary>--combine's files, or null when this is a run.</summary>
    public IReadOnlyList<string>? CombineFiles(ParseResult parse) => parse.GetResult(_combine) is null ? null : parse.GetValue(_combine) ?? [];

    public bool MemoryEvaluation(ParseResult parse) => parse.GetValue(_memoryEval);


    public BenchOptions Bind(ParseResult parse)
    {
        bool quick = parse.GetValue(_quick);
        // --quick shortens only what was not given explicitly, wherever it stands on the line.
        T Value<T>(Option<T> option, T quickValue) => quick && parse.GetResult(option) is null or { Implicit: true } ? quickValue : parse.GetValue(option)!;
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in parse.GetValue(_selfHostEnv) ?? [])
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            env[pair[..eq]] = pair[(eq + 1)..];
        }
        return new BenchOptions
        {
            Scenarios = parse.GetValue(_scenarios)!,
            Clients = parse.GetValue(_clients),
            ClientsHigh = parse.GetValue(_clientsHigh),
            ZeroClients = parse.GetValue(_zeroClients),
            DurationSeconds = Value(_duration, 5),
            ZeroDurationSeconds = Value(_zeroDuration, 5),
            WarmupSeconds = Value(_warmup, 1),
            JitWarmupSeconds = Value(_jitWarmup, 2),
            Runs = parse.GetValue(_runs),
            ModelLatencyMs = parse.GetValue(_modelLatency),
            SearchLatencyMs = parse.GetValue(_searchLatency),
            AddLatencyMs = parse.GetValue(_addLatency),
            StreamFirstTokenMs = parse.GetValue(_streamFirstToken),
            StreamTotalMs = parse.GetValue(_streamTotal),
            SlowSearchMs = parse.GetValue(_slowSearch),
            AddFailSeconds = parse.GetValue(_addFail),
            SearchBudgetMs = parse.GetValue(_searchBudget),
            DrainTimeoutSeconds = parse.GetValue(_drainTimeout),
            Telemetry = parse.GetValue(_telemetry)!,
            MemoryUsers = parse.GetValue(_memoryUsers),
            MemoryWrites = parse.GetValue(_memoryWrites),
            SelfHostEnv = env,
            OutputDir = parse.GetValue(_output) ?? "",
            ColdStart = parse.GetValue(_coldStart),
            LongConversation = parse.GetValue(_longConversation),
            Turns = parse.GetValue(_turns),
            Limits = parse.GetValue(_limits),
            Starts = parse.GetValue(_starts),
            WarmChats = parse.GetValue(_warmChats),
            SelfHostDll = parse.GetValue(_selfHostDll) ?? "",
            Host = parse.GetValue(_host)!,
            FunctionsApp = parse.GetValue(_functionsApp) ?? "",
        };
    }

    private static Option<int> Int(string name, int defaultValue, int min, int max, string description) =>
        Ranged(name, "n", "a whole number", defaultValue, min, max, description);

    private static Option<double> Seconds(string name, double defaultValue, double min, double max, string description) =>
        Ranged(name, "s", "a number of seconds", defaultValue, min, max, description);

    private static Option<T> Ranged<T>(string name, string helpName, string kind, T defaultValue, T min, T max, string description)
        where T : struct, INumber<T>
    {
        var option = new Option<T>(name) { HelpName = helpName, Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r =>
        {
            T value = r.GetValueOrDefault<T>();
            if (value < min || value > max)
            {
                r.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be {kind} from {min} to {max}, not {value}."));
            }
        });
        return option;
    }

    private static Option<string> Choice(string name, string defaultValue, string description, params string[] values)
    {
        var option = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.AcceptOnlyFromAmong(values);
        return option;
    }

    private static IReadOnlyList<string> ParseScenarios(ArgumentResult result)
    {
        var keys = string.Join(',', result.Tokens.Select(t => t.Value))
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(k => k.ToLowerInvariant()).ToList();
        foreach (var key in keys.Where(k => !ScenarioKeys.Contains(k)))
        {
            result.AddError($"unknown scenario '{key}'; use {string.Join(", ", ScenarioKeys)}.");
        }
        if (keys.Count == 0)
        {
            result.AddError("--scenarios needs at least one scenario.");
        }
        return keys;
    }

    private static int? EnvInt(string name) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n >= 0 ? n : null;
}
