using System.Collections.Concurrent;
using System.Diagnostics;
using SupportAgent.Fakes;
using SupportAgent.Functions.Configuration;

namespace SupportAgent.Functions.Tests.Support;

/// <summary>
/// A running self host in a process of its own (as scripts/run.sh starts it), for tests where an instance could die:
/// one that exits takes only its own process with it. Its output is kept; <see cref="TerminateAsync"/> sends SIGTERM.
/// </summary>
public sealed class SelfHostInstance : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private SelfHostInstance(Process process, int port)
    {
        _process = process;
        Port = port;
        Client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
    }

    public int Port { get; }

    public HttpClient Client { get; }

    public IReadOnlyList<string> Output => _output.ToArray();

    public bool HasExited => _process.HasExited;

    /// <summary>Starts it with these settings (besides its port) and waits, at most 90 s, until it serves.</summary>
    public static async Task<SelfHostInstance> StartAsync(IReadOnlyDictionary<string, string> settings)
    {
        int port = Loopback.FreePort();
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "SupportAgent.SelfHost.dll")])
        {
            WorkingDirectory = Directory.CreateTempSubdirectory("selfhost-").FullName, // no local.settings.json here
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var name in new[] { "OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "MEMORY_STORE", "MEM0_API_KEY", "MEM0_BASE_URL", "AzureWebJobsStorage" })
        {
            start.Environment.Remove(name);
        }
        foreach (var (name, value) in settings)
        {
            start.Environment[name] = value;
        }
        start.Environment[SettingNames.SelfHostPort] = port.ToString();
        start.Environment["Logging__Console__FormatterName"] = "simple";
        start.Environment["Logging__Console__FormatterOptions__SingleLine"] = "true";

        var instance = new SelfHostInstance(Process.Start(start)!, port);
        instance._process.OutputDataReceived += (_, e) => { if (e.Data is not null) { instance._output.Enqueue(e.Data); } };
        instance._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { instance._output.Enqueue(e.Data); } };
        instance._process.BeginOutputReadLine();
        instance._process.BeginErrorReadLine();
        await Eventually.WaitFor(() => instance.HasExited || instance.Output.Any(l => l.Contains("SupportAgent on http")),
            TimeSpan.FromSeconds(90), "the self host to start");
        Assert.False(instance.HasExited, "The self host exited at start: " + string.Join('\n', instance.Output));
        return instance;
    }

    /// <summary>SIGTERM, as a platform stops an instance; returns the exit code (waits at most 60 s).</summary>
    public async Task<int> TerminateAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString()]))
        {
            await kill.WaitForExitAsync();
        }
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
