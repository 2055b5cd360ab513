using System.Diagnostics;
using System.Text;

namespace SupportAgent.Benchmark;

/// <summary>
/// A process the benchmark started (Azurite, the fakes, the self host): output to a log file, the last lines kept for
/// error messages, its PID written to a file so scripts/bench.sh can clean up even if this process is killed.
/// Stopped with SIGTERM first (graceful), then killed.
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    private const int TailLines = 40;
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Queue<string> _tail = new();
    private readonly Lock _lock = new();
    private readonly PidFile _pids;

    private ChildProcess(string name, Process process, StreamWriter log, PidFile pids)
    {
        Name = name;
        _process = process;
        _log = log;
        _pids = pids;
    }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public static ChildProcess Start(string name, string fileName, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string> environment, string logPath, PidFile pids)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // so a child never reads the terminal
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }
        var log = new StreamWriter(logPath, append: false, Encoding.UTF8) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException($"{name} did not start.");
        var child = new ChildProcess(name, process, log, pids);
        pids.Add(process.Id);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => child.OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>The last lines the process printed, for a failure message.</summary>
    public string Tail()
    {
        lock (_lock)
        {
            return string.Join(Environment.NewLine, _tail);
        }
    }

    public async Task StopAsync(TimeSpan grace)
    {
        try
        {
            if (!_process.HasExited)
            {
                SendTerm(_process.Id);
                using var timeout = new CancellationTokenSource(grace);
                try
                {
                    await _process.WaitForExitAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
                }
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException or System.ComponentModel.Win32Exception)
        {
            // Already gone, or not ours to wait on any more: nothing left to stop.
        }
        _pids.Remove(_process.Id);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
        lock (_lock)
        {
            _log.Dispose();
        }
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_lock)
        {
            try
            {
                _log.WriteLine(line);
            }
            catch (ObjectDisposedException)
            {
                // Output after the log closed (the process is being torn down): dropped.
            }
            _tail.Enqueue(line);
            if (_tail.Count > TailLines)
            {
                _tail.Dequeue();
            }
        }
    }

    /// <summary>SIGTERM through kill(1): .NET's Process.Kill only sends SIGKILL, which skips a graceful shutdown.</summary>
    private static void SendTerm(int pid)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
        });
        kill?.WaitForExit(5000);
    }
}

/// <summary>PIDs of the running children, one a line, for the shell script's last-resort cleanup.</summary>
internal sealed class PidFile(string path)
{
    private readonly Lock _lock = new();
    private readonly HashSet<int> _pids = [];

    public string Path { get; } = path;

    public void Add(int pid) => Update(() => _pids.Add(pid));

    public void Remove(int pid) => Update(() => _pids.Remove(pid));

    private void Update(Func<bool> change)
    {
        lock (_lock)
        {
            change();
            File.WriteAllLines(Path, _pids.Select(p => p.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }
}
