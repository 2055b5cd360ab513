using System.Diagnostics;
using SupportAgent.Fakes;
using Azure.Storage.Queues;

namespace SupportAgent.Functions.Tests.Support;

/// <summary>
/// One Azurite (the real Azure Storage emulator, from the repository's pinned npm packages) for the whole test run,
/// on free ports so it never collides with a developer's own Azurite on 10000-10002, in memory, stopped at exit.
/// Tests isolate themselves with their own queue names. AZURITE_CONNECTION_STRING points the tests at a running one instead.
/// A test that shares a storage account with another process (the real Functions host) starts one of its own: <see cref="StartNew"/>.
/// </summary>
public sealed class Azurite : IDisposable
{
    private static readonly Lazy<Azurite> Shared = new(StartNew, LazyThreadSafetyMode.ExecutionAndPublication);
    private Process? _process;
    private (int Blob, int Queue, int Table)? _ports;

    private Azurite(string connectionString, Process? process)
    {
        ConnectionString = connectionString;
        _process = process;
    }

    public static Azurite Instance => Shared.Value;

    public string ConnectionString { get; }

    public QueueClient Queue(string name, QueueMessageEncoding encoding = QueueMessageEncoding.None) =>
        new(ConnectionString, name, new QueueClientOptions { MessageEncoding = encoding });

    public static string UniqueQueueName(string prefix = "mw") => $"{prefix}-{Guid.NewGuid():N}"[..24];

    /// <summary>Another Azurite of its own (or the one AZURITE_CONNECTION_STRING names); <see cref="Dispose"/> stops it.</summary>
    public static Azurite StartNew()
    {
        if (Environment.GetEnvironmentVariable("AZURITE_CONNECTION_STRING") is { Length: > 0 } external)
        {
            return new Azurite(external, null);
        }

        int blobPort = Loopback.FreePort(), queuePort = Loopback.FreePort(), tablePort = Loopback.FreePort();
        return new Azurite(Loopback.AzuriteConnectionString(blobPort, queuePort, tablePort), Launch(blobPort, queuePort, tablePort))
        {
            _ports = (blobPort, queuePort, tablePort),
        };
    }

    /// <summary>Stops this (own) Azurite, as an outage would: its ports refuse connections until <see cref="Restart"/>.</summary>
    public void Stop()
    {
        Stop(_process ?? throw new InvalidOperationException("Only an Azurite this test run started can be stopped."));
    }

    /// <summary>Starts it again on the same ports, empty (it keeps everything in memory): a restarted emulator, a fresh account.</summary>
    public void Restart()
    {
        var (blob, queue, table) = _ports ?? throw new InvalidOperationException("Only an Azurite this test run started can be restarted.");
        _process = Launch(blob, queue, table);
    }

    /// <summary>Freezes it (SIGSTOP): connections are accepted and then nothing answers, until <see cref="Thaw"/>.</summary>
    public void Freeze() => Signal("STOP");

    public void Thaw() => Signal("CONT");

    private void Signal(string signal)
    {
        var process = _process ?? throw new InvalidOperationException("Only an Azurite this test run started can be signalled.");
        using var kill = Process.Start("kill", ["-" + signal, process.Id.ToString()]);
        kill.WaitForExit();
    }

    private static Process Launch(int blobPort, int queuePort, int tablePort)
    {
        string script = Path.Combine(RepoPaths.Root, "node_modules", "azurite", "dist", "src", "azurite.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed ({script} is missing). Run 'npm ci' in {RepoPaths.Root}, or use the README's test command (scripts/test.sh), which does it.");
        }

        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true, // held open until this process ends; see azurite-host.js
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     Path.Combine(AppContext.BaseDirectory, "Support", "azurite-host.js"), script, "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose", "--inMemoryPersistence",
                     "--blobHost", "127.0.0.1", "--blobPort", blobPort.ToString(),
                     "--queueHost", "127.0.0.1", "--queuePort", queuePort.ToString(),
                     "--tableHost", "127.0.0.1", "--tablePort", tablePort.ToString(),
                 })
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("node did not start.");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("Azurite needs Node.js ('node' on PATH) and could not start: " + ex.Message, ex);
        }
        var errors = new System.Text.StringBuilder();
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (errors) { errors.AppendLine(e.Data); } } };
        process.OutputDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Stop(process);

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!(Loopback.IsListening(queuePort) && Loopback.IsListening(blobPort) && Loopback.IsListening(tablePort)))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited with code {process.ExitCode} before listening: {errors}");
            }
            if (DateTime.UtcNow > deadline)
            {
                Stop(process);
                throw new InvalidOperationException($"Azurite did not listen on 127.0.0.1:{queuePort} within 30 s: {errors}");
            }
            Thread.Sleep(50); // polling a port; not test synchronisation
        }

        return process;
    }

    public void Dispose()
    {
        if (_process is not null && !ReferenceEquals(this, Shared.IsValueCreated ? Shared.Value : null))
        {
            Stop(_process);
        }
    }

    private static void Stop(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone: nothing more to do at exit.
        }
    }
}
