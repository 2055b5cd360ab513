using System.Diagnostics;
using System.Text.Json;
using SupportAgent.Fakes;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.RealHost;

/// <summary>
/// The real Azure Functions host (the runtime <c>func start</c> and Azure run) serving the function app's build output,
/// started by the script the <see cref="StartScriptSetting"/> setting names (called as <c>SCRIPT SCRIPT_ROOT PORT</c>,
/// like start-host.sh). Settings reach it, and through it the worker, as environment variables, as app settings do on
/// Azure. Every line it prints is kept, so a test can look for the app's own log lines in the host's output.
/// </summary>
internal sealed class FunctionsHostProcess : IAsyncDisposable
{
    public const string StartScriptSetting = "FUNCTIONS_HOST_START";

    // The keys the host is given (start-host.sh writes them as its secrets): HostKey opens every function-level route,
    // FunctionKey only the functions named in FUNCTION_KEYS, MasterKey the admin API as well.
    public const string HostKey = "real-host-tests-host-key-0123456789";
    public const string MasterKey = "real-host-tests-master-key-0123456789";
    public const string FunctionKey = "real-host-tests-function-key-0123456789";

    /// <summary>Settings a developer's environment might carry; the host starts without them unless a test sets them.</summary>
    private static readonly string[] Cleared =
    [
        "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_API_KEY",
        "MEMORY_STORE", "MEM0_API", "MEM0_API_KEY", "MEM0_BASE_URL", "MEMORY_QUEUE_NAME", "AzureWebJobsStorage", "AUTH_MODE",
        "AUTH_JWT_AUTHORITY", "AUTH_JWT_AUDIENCE", "APPLICATIONINSIGHTS_CONNECTION_STRING", "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_SDK_DISABLED", "CONTAINER_NAME", "HOST_DIR", "FUNCTION_KEYS", "PORT",
    ];

    private readonly Process _process;
    private readonly string _workFolder;
    private readonly List<string> _output = [];
    private readonly SemaphoreSlim _outputChanged = new(0);

    private FunctionsHostProcess(Process process, int port, string workFolder)
    {
        _process = process;
        _workFolder = workFolder;
        Port = port;
        // An outside caller: no traceparent unless a test sends one itself.
        Client = new HttpClient(new SocketsHttpHandler { ActivityHeadersPropagator = null })
        {
            BaseAddress = new Uri($"http://127.0.0.1:{port}/"),
            Timeout = TimeSpan.FromSeconds(90),
        };
    }

    /// <summary>The start script, or null when the setting is not there (then the real-host tests are skipped).</summary>
    public static string? StartScript => Environment.GetEnvironmentVariable(StartScriptSetting) is { Length: > 0 } path ? path : null;

    public int Port { get; }

    /// <summary>Whether the host process has ended (by itself, or stopped).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>A client for the host, with no key: a test adds the key it is about.</summary>
    public HttpClient Client { get; }

    /// <summary>Every line the host (and, through it, the worker) has printed so far.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_output)
            {
                return [.. _output];
            }
        }
    }

    /// <summary>
    /// The function app's build output, the folder <c>func start</c> serves: the test project builds it first (project
    /// reference), in the same configuration as itself.
    /// </summary>
    public static string AppBuildOutput()
    {
        string folder = Path.Combine(RepoPaths.Root, "SupportAgent.Functions", "bin", new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, "net10.0");
        foreach (string file in new[] { "functions.metadata", "host.json", "worker.config.json", "SupportAgent.Functions.dll" })
        {
            if (!File.Exists(Path.Combine(folder, file)))
            {
                throw new InvalidOperationException($"{Path.Combine(folder, file)} is missing: build the solution first (dotnet build SupportAgent.sln).");
            }
        }
        return folder;
    }

    /// <summary>
    /// Starts the host on a free port with <paramref name="settings"/> and waits until it serves (its admin status says
    /// Running). <paramref name="workFolder"/> is this host's own: the host is unpacked there (HOST_DIR: one running host
    /// per folder, so hosts of parallel test runs never share one) and it is deleted when the host stops.
    /// </summary>
    public static async Task<FunctionsHostProcess> StartAsync(string script, string scriptRoot, IReadOnlyDictionary<string, string> settings, string workFolder)
    {
        for (int attempt = 1; ; attempt++)
        {
            var host = Launch(script, scriptRoot, Loopback.FreePort(), settings, workFolder);
            try
            {
                await host.WaitUntilRunningAsync(TimeSpan.FromSeconds(120));
                return host;
            }
            catch (PortTakenException) when (attempt < 3)
            {
                // Another process took the free port before the host bound it (a busy machine): try another one.
                await host.DisposeAsync(deleteWorkFolder: false);
            }
            catch
            {
                await host.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>
    /// Runs the script under a watchdog: when this process goes away without stopping the host (killed, a crashed test
    /// run), its end of the standard input pipe closes and the watchdog stops the host, which stops its worker. (A
    /// background job's standard input is /dev/null unless redirected, hence the copy on descriptor 3.)
    /// </summary>
    private const string Watchdog = """
        exec 3<&0
        "$@" </dev/null & host=$!
        { cat <&3 >/dev/null; kill -TERM "$host" 2>/dev/null; } &
        wait "$host"
        """;

    private static FunctionsHostProcess Launch(string script, string scriptRoot, int port, IReadOnlyDictionary<string, string> settings, string workFolder)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // held open until this process ends: see Watchdog
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "-c", Watchdog, "watchdog", script, scriptRoot, port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }
        foreach (string name in Cleared)
        {
            start.Environment.Remove(name);
        }
        // The script makes a HOME of its own with mktemp: inside the work folder, so it goes when the folder does.
        string temp = Directory.CreateDirectory(Path.Combine(workFolder, "tmp")).FullName;
        start.Environment["TMPDIR"] = temp;
        start.Environment["HOST_DIR"] = Path.Combine(workFolder, "host");
        start.Environment["HOST_KEY"] = HostKey;
        start.Environment["MASTER_KEY"] = MasterKey;
        start.Environment["FUNCTION_KEY"] = FunctionKey;
        foreach (var (name, value) in settings)
        {
            start.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{script} did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"The Functions host could not be started (bash): {ex.Message}", ex);
        }
        var host = new FunctionsHostProcess(process, port, workFolder);
        process.OutputDataReceived += (_, e) => host.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => host.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => host.Kill();
        return host;
    }

    /// <summary>Waits for the first line that <paramref name="match"/> accepts, and returns it.</summary>
    public async Task<string> WaitForOutputAsync(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Output.FirstOrDefault(match) is { } line)
            {
                return line;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0} s waiting for {what} in the host's output. Its last lines:{Environment.NewLine}{Tail()}");
            }
            await _outputChanged.WaitAsync(left < TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
        }
    }

    /// <summary>
    /// The "level: Category[event]" line above a log message: the host prints each entry as that line and then the
    /// message, indented, on the next.
    /// </summary>
    public string CategoryLineOf(string messageLine)
    {
        var output = Output;
        int at = output.ToList().LastIndexOf(messageLine);
        return at > 0 ? output[at - 1] : "";
    }

    /// <summary>The last lines the host printed, for a failure message.</summary>
    public string Tail(int lines = 60) => string.Join(Environment.NewLine, Output.TakeLast(lines));

    /// <summary>A request with the given key (none when null) as <c>x-functions-key</c>.</summary>
    public static HttpRequestMessage Request(HttpMethod method, string path, string? key, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
        {
            request.Headers.Add("x-functions-key", key);
        }
        return request;
    }

    private async Task WaitUntilRunningAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "no answer yet";
        using var probe = new HttpClient { BaseAddress = Client.BaseAddress, Timeout = TimeSpan.FromSeconds(10) };
        while (true)
        {
            if (_process.HasExited)
            {
                string tail = Tail();
                if (tail.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                {
                    throw new PortTakenException();
                }
                throw new InvalidOperationException($"The Functions host ({StartScriptSetting}={StartScript}) exited with code {_process.ExitCode} before it was running. Its last lines:{Environment.NewLine}{tail}");
            }
            if (Output.Any(l => l.Contains("Job host started", StringComparison.Ordinal)))
            {
                try
                {
                    using var status = await probe.SendAsync(Request(HttpMethod.Get, "admin/host/status", MasterKey));
                    string body = await status.Content.ReadAsStringAsync();
                    last = $"HTTP {(int)status.StatusCode} {body}";
                    if (status.IsSuccessStatusCode && JsonDocument.Parse(body).RootElement.GetProperty("state").GetString() == "Running")
                    {
                        return;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
                {
                    last = ex.Message;
                }
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The Functions host was not running within {timeout.TotalSeconds:0} s (admin/host/status: {last}). Its last lines:{Environment.NewLine}{Tail()}");
            }
            await Task.Delay(100); // polling a starting process; not test synchronisation
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_output)
        {
            _output.Add(line);
        }
        if (_outputChanged.CurrentCount == 0)
        {
            _outputChanged.Release();
        }
    }

    /// <summary>Stops the host and its worker at once: nothing a test checks depends on a graceful stop, and it takes ~15 s.</summary>
    private void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Already gone.
        }
    }

    public ValueTask DisposeAsync() => DisposeAsync(deleteWorkFolder: true);

    private ValueTask DisposeAsync(bool deleteWorkFolder)
    {
        Kill();
        Client.Dispose();
        _process.Dispose();
        if (deleteWorkFolder)
        {
            try
            {
                Directory.Delete(_workFolder, recursive: true);
            }
            catch (IOException)
            {
                // A file still held open by a process on its way out: the folder is under the temp folder anyway.
            }
        }
        return ValueTask.CompletedTask;
    }

    private sealed class PortTakenException : Exception;
}
