using System.Diagnostics;

namespace SupportAgent.Functions.Tests.Support;

/// <summary>The self host run as its own process, as scripts/run.sh runs it, until it exits by itself.</summary>
internal static class SelfHostProcess
{
    /// <summary>Settings a developer's environment might carry; every run starts without them unless it sets them.</summary>
    private static readonly string[] Cleared =
    [
        "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_DEPLOYMENT", "AZURE_OPENAI_API_KEY",
        "MEMORY_STORE", "MEM0_API", "MEM0_API_KEY", "MEM0_BASE_URL", "AzureWebJobsStorage", "PORT",
    ];

    public sealed record Exit(int Code, string Stdout, string Stderr);

    /// <summary>Runs it in <paramref name="workingDirectory"/> (where it looks for local.settings.json) and waits, at most 60 s, for it to exit.</summary>
    public static async Task<Exit> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string> settings, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "SupportAgent.SelfHost.dll"), .. args])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var name in Cleared)
        {
            start.Environment.Remove(name);
        }
        foreach (var (name, value) in settings)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"The self host did not exit within 60 s. Its output: {await stdout}{await stderr}");
        }
        return new Exit(process.ExitCode, await stdout, await stderr);
    }
}
