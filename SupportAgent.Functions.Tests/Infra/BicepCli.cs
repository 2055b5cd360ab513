using System.Diagnostics;
using System.Text.Json;

namespace SupportAgent.Functions.Tests.Infra;

/// <summary>
/// Runs the Bicep CLI that scripts/install-bicep.sh installs (from NuGet) as .bicep/bicep, or the one named by
/// BICEP_PATH, and compiles infra/main.bicep once per test run.
/// </summary>
internal static class BicepCli
{
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(3);

    private static readonly Lazy<BicepBuild> MainBuild = new(() => Build(RepoFiles.PathOf("infra", "main.bicep")));

    /// <summary>infra/main.bicep compiled to an ARM template (with its diagnostics).</summary>
    public static BicepBuild Main => MainBuild.Value;

    public static string Executable
    {
        get
        {
            string? configured = Environment.GetEnvironmentVariable("BICEP_PATH");
            string path = string.IsNullOrWhiteSpace(configured) ? RepoFiles.PathOf(".bicep", "bicep") : configured;
            if (!File.Exists(path))
            {
                throw new InvalidOperationException(
                    $"The Bicep CLI is not installed at {path}. Run `bash scripts/install-bicep.sh` from the repository root " +
                    "(it restores Azure.Bicep.CommandLine.linux-x64 from NuGet and links .bicep/bicep; CI runs it before the tests), " +
                    "or set BICEP_PATH to a bicep executable.");
            }
            return path;
        }
    }

    private static BicepBuild Build(string bicepFile)
    {
        var start = new ProcessStartInfo(Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepoFiles.Root,
        };
        start.ArgumentList.Add("build");
        start.ArgumentList.Add(bicepFile);
        start.ArgumentList.Add("--stdout");

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(BuildTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"bicep build {bicepFile} did not finish within {BuildTimeout}.");
        }
        process.WaitForExit();
        return new BicepBuild(process.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }
}

internal sealed record BicepBuild(int ExitCode, string Output, string Diagnostics)
{
    private readonly Lazy<JsonElement> _template = new(() =>
    {
        using var document = JsonDocument.Parse(Output);
        return document.RootElement.Clone();
    });

    /// <summary>The compiled ARM template. Fails (with the diagnostics) when the build failed.</summary>
    public JsonElement Template => ExitCode == 0
        ? _template.Value
        : throw new InvalidOperationException($"bicep build failed with exit code {ExitCode}:\n{Diagnostics}");
}
