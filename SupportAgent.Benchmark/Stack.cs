using System.Diagnostics;
using System.Globalization;
using System.Net;
using SupportAgent.Fakes;

namespace SupportAgent.Benchmark;

/// <summary>
/// Everything under test, each in its own process on loopback ports of its own: Azurite (in memory), the fake OpenAI
/// and Mem0 servers, and the self host (Release build) pointed at them. Disposing stops them, newest first.
/// </summary>
internal sealed class Stack : IAsyncDisposable
{
    public const string QueueName = "memory-writes";
    public const string Mem0Key = "bench-mem0-key";
    public const string OpenAiKey = "bench-openai-key";

    private readonly List<ChildProcess> _children = [];

    public required string StorageConnectionString { get; init; }

    public required Uri OpenAiUrl { get; init; }

    public required Uri Mem0Url { get; init; }

    public required Uri ChatUrl { get; init; }

    /// <summary>The telemetry sink in the fakes process (--telemetry otlp), else null.</summary>
    public Uri? TelemetrySinkUrl { get; init; }

    public ChildProcess SelfHost => _children[^1];

    private readonly Dictionary<string, string> _selfHostEnv = [];

    /// <summary>PIDs by a short name (Azurite, Fakes, SelfHost), for CPU accounting.</summary>
    public IReadOnlyDictionary<string, int> Pids => _children.ToDictionary(c => c.Name switch
    {
        "fakes" => "Fakes",
        "self host" => "SelfHost",
        _ => c.Name,
    }, c => c.Pid);

    /// <summary>Starts Azurite and the fakes, then (unless <paramref name="startSelfHost"/> is false) the self host.</summary>
    public static async Task<Stack> StartAsync(BenchOptions o, PidFile pids, CancellationToken ct, bool startSelfHost = true)
    {
        int blob = Loopback.FreePort(), queue = Loopback.FreePort(), table = Loopback.FreePort(), openAi = Loopback.FreePort(), mem0 = Loopback.FreePort(), app = Loopback.FreePort();
        int? otlp = o.Telemetry == "otlp" ? Loopback.FreePort() : null;
        string connection = Loopback.AzuriteConnectionString(blob, queue, table);
        var stack = new Stack
        {
            StorageConnectionString = connection,
            OpenAiUrl = new Uri($"http://127.0.0.1:{openAi}/"),
            Mem0Url = new Uri($"http://127.0.0.1:{mem0}/"),
            ChatUrl = new Uri($"http://127.0.0.1:{app}/api/chat"),
            TelemetrySinkUrl = otlp is { } sinkPort ? new Uri($"http://127.0.0.1:{sinkPort}/") : null,
        };
        try
        {
            var noEnv = new Dictionary<string, string>();
            stack.Add(await StartAzuriteAsync(o.RepoRoot, Path.Combine(o.OutputDir, "azurite.log"), pids, blob, queue, table, ct));

            string fakes = Dll(o, "SupportAgent.Fakes");
            stack.Add(ChildProcess.Start("fakes", "dotnet",
                [fakes, "--openai-port", Str(openAi), "--mem0-port", Str(mem0), "--mem0-api", "platform", "--mem0-key", Mem0Key,
                 "--openai-key", OpenAiKey, "--model-latency-ms", Str(o.ModelLatencyMs), "--search-latency-ms", Str(o.SearchLatencyMs),
                 "--add-latency-ms", Str(o.AddLatencyMs), "--no-record", .. (otlp is { } p ? new[] { "--otlp-port", Str(p) } : [])],
                o.RepoRoot, noEnv, Path.Combine(o.OutputDir, "fakes.log"), pids));
            using (var probe = new HttpClient { Timeout = TimeSpan.FromSeconds(2) })
            {
                await WaitAsync("the fakes", stack._children[^1], async () =>
                    await Ok(probe, new Uri(stack.OpenAiUrl, "_fake/stats")) && await Ok(probe, new Uri(stack.Mem0Url, "_fake/stats")), ct);
            }

            // The self host reads settings from the environment; a local.settings.json next to its dll (copied from a
            // developer's repo) is overridden for every setting that matters here.
            stack._selfHostEnv.Clear();
            foreach (var (k, v) in new Dictionary<string, string>
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["DOTNET_ENVIRONMENT"] = "Production",
                ["AzureWebJobsStorage"] = connection,
                ["OPENAI_BASE_URL"] = $"http://127.0.0.1:{openAi}/v1",
                ["OPENAI_API_KEY"] = OpenAiKey,
                ["OPENAI_MODEL"] = "gpt-4o-mini",
                ["AZURE_OPENAI_ENDPOINT"] = "",
                ["AZURE_OPENAI_DEPLOYMENT"] = "",
                ["AZURE_OPENAI_API_KEY"] = "",
                ["MEMORY_STORE"] = "mem0-platform",
                ["MEM0_API"] = "",
                ["MEM0_BASE_URL"] = $"http://127.0.0.1:{mem0}",
                ["MEM0_API_KEY"] = Mem0Key,
                ["MEMORY_QUEUE_NAME"] = QueueName,
                ["MEMORY_SEARCH_TIMEOUT_MS"] = Str(o.SearchBudgetMs),
                // Per-user limits off: the scenarios measure the chat path alone (scenario m repeats users far faster
                // than a person would); --limits turns them on to measure what they add.
                ["USER_REQUESTS_PER_MINUTE"] = "0",
                ["USER_TOKENS_PER_DAY"] = "0",
                ["CORS_ALLOWED_ORIGINS"] = "",
                // Telemetry as --telemetry says, whatever this machine's environment holds.
                ["OTEL_SDK_DISABLED"] = o.Telemetry == "off" ? "true" : "false",
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp is { } port ? $"http://127.0.0.1:{port}" : "",
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["APPLICATIONINSIGHTS_CONNECTION_STRING"] = "",
            }.Concat(o.SelfHostEnv))
            {
                stack._selfHostEnv[k] = v;
            }
            if (startSelfHost)
            {
                stack.Add(stack.StartSelfHost(o, app, Path.Combine(o.OutputDir, "selfhost.log"), pids));
            }
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    /// <summary>Azurite (in memory) on the given loopback ports, from the repository's npm packages; returns once it listens.</summary>
    public static async Task<ChildProcess> StartAzuriteAsync(string repoRoot, string logPath, PidFile pids, int blob, int queue, int table, CancellationToken ct)
    {
        string azurite = Path.Combine(repoRoot, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(azurite))
        {
            throw new InvalidOperationException($"Azurite is not installed ({azurite}); run scripts/setup.sh.");
        }
        var process = ChildProcess.Start("Azurite", "node",
            [azurite, "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose", "--inMemoryPersistence",
             "--blobHost", "127.0.0.1", "--blobPort", Str(blob), "--queueHost", "127.0.0.1", "--queuePort", Str(queue),
             "--tableHost", "127.0.0.1", "--tablePort", Str(table),
             // For diagnosis only (it logs every request, which slows Azurite): BENCH_AZURITE_DEBUG=/path/to/log.
             .. (Environment.GetEnvironmentVariable("BENCH_AZURITE_DEBUG") is { Length: > 0 } debug ? new[] { "--debug", debug } : [])],
            repoRoot, new Dictionary<string, string>(), logPath, pids);
        try
        {
            await WaitAsync("Azurite", process, () => Task.FromResult(Loopback.IsListening(queue) && Loopback.IsListening(blob) && Loopback.IsListening(table)), ct);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
        return process;
    }

    /// <summary>Waits until the self host answers a chat with 200 (model, Mem0 and the queue all reachable).</summary>
    public async Task WaitForSelfHostAsync(LoadDriver driver, CancellationToken ct)
    {
        int attempt = 0;
        string last = "";
        await WaitAsync("the self host", SelfHost, async () =>
        {
            if (!Loopback.IsListening(ChatUrl.Port))
            {
                return false;
            }
            try
            {
                var (status, body) = await driver.SendOnceAsync($"bench-ready-{attempt++}", ct);
                last = $"HTTP {status}: {body}";
                return status == 200;
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
                return false;
            }
        }, ct, TimeSpan.FromSeconds(90), () => last);
    }

    public async ValueTask DisposeAsync()
    {
        for (int i = _children.Count - 1; i >= 0; i--)
        {
            await _children[i].DisposeAsync();
        }
        _children.Clear();
    }

    private void Add(ChildProcess child) => _children.Add(child);

    /// <summary>A self host process on <paramref name="port"/>, pointed at this stack's Azurite and fakes; the caller stops it.</summary>
    public ChildProcess StartSelfHost(BenchOptions o, int port, string logPath, PidFile pids, IReadOnlyDictionary<string, string>? settings = null)
    {
        var env = new Dictionary<string, string>(_selfHostEnv) { ["PORT"] = Str(port) };
        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
        {
            env[k] = v;
        }
        string workDir = Directory.CreateDirectory(Path.Combine(o.OutputDir, "selfhost-cwd")).FullName;
        return ChildProcess.Start("self host", "dotnet", [SelfHostDll(o)], workDir, env, logPath, pids);
    }

    /// <summary>The key the real Functions host is started with (its host key: every function-level route takes it).</summary>
    public const string FunctionsHostKey = "bench-functions-host-key-0123456789";

    /// <summary>
    /// The real Azure Functions host on <paramref name="port"/>, serving the function app, with the self host's settings
    /// (this stack's Azurite and fakes) as its app settings; the caller stops it. The host is unpacked once into the
    /// output folder (HOST_DIR) and kept there between runs, so only a very first start pays for unpacking it.
    /// </summary>
    public ChildProcess StartFunctionsHost(BenchOptions o, int port, string logPath, PidFile pids)
    {
        var env = new Dictionary<string, string>(_selfHostEnv)
        {
            // As on Azure (start-host.sh's default is func start's Development); --selfhost-env can say otherwise.
            ["AZURE_FUNCTIONS_ENVIRONMENT"] = o.SelfHostEnv.GetValueOrDefault("AZURE_FUNCTIONS_ENVIRONMENT", "Production"),
            ["HOST_DIR"] = Path.Combine(o.OutputDir, "functions-host"),
            ["HOST_KEY"] = FunctionsHostKey,
            // The start script makes a HOME of its own with mktemp: here, not in the machine's /tmp.
            ["TMPDIR"] = Directory.CreateDirectory(Path.Combine(o.OutputDir, "functions-host-tmp")).FullName,
        };
        return ChildProcess.Start("functions host", FunctionsHostScript(), [FunctionsApp(o), Str(port)], o.RepoRoot, env, logPath, pids);
    }

    /// <summary>The script that starts the real Functions host (run as SCRIPT SCRIPT_ROOT PORT), from FUNCTIONS_HOST_START.</summary>
    public static string FunctionsHostScript() =>
        Environment.GetEnvironmentVariable("FUNCTIONS_HOST_START") is { Length: > 0 } script && File.Exists(script)
            ? Path.GetFullPath(script)
            : throw new InvalidOperationException("--host real needs FUNCTIONS_HOST_START: the path of a script that runs the Azure Functions host as 'SCRIPT SCRIPT_ROOT PORT' (README, func start).");

    /// <summary>The function app the real host serves: --functions-app, else the ReadyToRun publish output scripts/bench.sh makes.</summary>
    public static string FunctionsApp(BenchOptions o)
    {
        string path = string.IsNullOrEmpty(o.FunctionsApp) ? Path.Combine(o.RepoRoot, "artifacts", "functions") : Path.GetFullPath(o.FunctionsApp);
        return File.Exists(Path.Combine(path, "functions.metadata"))
            ? path
            : throw new InvalidOperationException($"{path} holds no function app (functions.metadata); scripts/bench.sh publishes it (or pass --functions-app).");
    }

    /// <summary>The self host to run: --selfhost-dll, else the ReadyToRun publish output scripts/bench.sh makes.</summary>
    public static string SelfHostDll(BenchOptions o)
    {
        string path = string.IsNullOrEmpty(o.SelfHostDll)
            ? Path.Combine(o.RepoRoot, "artifacts", "selfhost", "SupportAgent.SelfHost.dll")
            : Path.GetFullPath(o.SelfHostDll);
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing; scripts/bench.sh publishes it (or pass --selfhost-dll).");
    }

    private static string Dll(BenchOptions o, string project)
    {
        string path = Path.Combine(o.RepoRoot, project, "bin", "Release", "net10.0", project + ".dll");
        return File.Exists(path) ? path : throw new InvalidOperationException($"{path} is missing; build Release first (scripts/bench.sh does).");
    }

    private static async Task WaitAsync(string what, ChildProcess process, Func<Task<bool>> ready, CancellationToken ct,
        TimeSpan? timeout = null, Func<string>? detail = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        var clock = Stopwatch.StartNew();
        while (!await ready())
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{what} exited before it was ready. Its last output:{Environment.NewLine}{process.Tail()}");
            }
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"{what} was not ready within {limit.TotalSeconds:0} s ({detail?.Invoke()}). Its last output:{Environment.NewLine}{process.Tail()}");
            }
            await Task.Delay(200, ct);
        }
    }

    private static async Task<bool> Ok(HttpClient http, Uri uri)
    {
        try
        {
            using var response = await http.GetAsync(uri);
            return response.IsSuccessStatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private static string Str(int n) => n.ToString(CultureInfo.InvariantCulture);
}
