namespace SupportAgent.Benchmark;

/// <summary>What the benchmark was asked to do (<see cref="BenchCommandLine"/> parses it). Every default is the issue's.</summary>
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

    /// <summary>No load: one long conversation replayed as useChat sends it, with the token budget and sent whole (LongConversation).</summary>
    public bool LongConversation { get; init; }

    /// <summary>--long-conversation: the turns of the conversation.</summary>
    public int Turns { get; init; } = 100;

    /// <summary>--limits: no load scenarios; the per-user limits' added latency and exactness across two self hosts (LimitsBench).</summary>
    public bool Limits { get; init; }

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
}
