using System.Net;
using System.Net.Sockets;
using SupportAgent.Fakes;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Hosting;

/// <summary>
/// What a developer sees when the self host cannot start: one line saying what to fix, naming the setting, exit code
/// 2, no stack trace. And <c>--check</c>, which scripts/run.sh asks before it starts Azurite or builds anything.
/// </summary>
public sealed class SelfHostStartupTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("supportagent-start-"); // no local.settings.json

    public void Dispose() => _dir.Delete(recursive: true);

    private static Dictionary<string, string> Settings(string storage, int port) => new()
    {
        ["OPENAI_API_KEY"] = "sk-test",
        ["AzureWebJobsStorage"] = storage,
        ["PORT"] = port.ToString(),
    };

    [Fact]
    public async Task A_port_in_use_is_one_line_naming_the_port_and_PORT()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        int port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var exit = await SelfHostProcess.RunAsync(_dir.FullName, Settings(Azurite.Instance.ConnectionString, port));

        AssertOneLineRefusal(exit, $"port {port}", "PORT=");
    }

    [Theory]
    [InlineData("not-a-connection-string")]
    [InlineData("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=bm90LWEtcmVhbC1rZXk=!;EndpointSuffix=core.windows.net")]
    public async Task A_malformed_connection_string_is_named_without_echoing_it(string connectionString)
    {
        var exit = await SelfHostProcess.RunAsync(_dir.FullName, Settings(connectionString, Loopback.FreePort()));

        Assert.Equal(2, exit.Code);
        Assert.Contains("AzureWebJobsStorage is not a storage connection string", exit.Stderr);
        Assert.DoesNotContain(connectionString, exit.Stderr + exit.Stdout);
        Assert.DoesNotContain("   at ", exit.Stderr + exit.Stdout);
    }

    [Fact]
    public async Task An_unreachable_storage_account_is_one_line_naming_the_endpoint_and_the_setting()
    {
        int blob = Loopback.FreePort(), queue = Loopback.FreePort(), table = Loopback.FreePort(); // nothing listens there

        var exit = await SelfHostProcess.RunAsync(_dir.FullName, Settings(Loopback.AzuriteConnectionString(blob, queue, table), Loopback.FreePort()));

        AssertOneLineRefusal(exit, $"127.0.0.1:{queue}", "AzureWebJobsStorage");
        Assert.DoesNotContain(Loopback.AzuriteAccountKey, exit.Stderr);
    }

    [Fact]
    public async Task Check_reports_the_port_and_the_emulator_ports_without_starting()
    {
        int port = Loopback.FreePort();

        var exit = await SelfHostProcess.RunAsync(_dir.FullName, Settings("UseDevelopmentStorage=true", port), "--check");

        Assert.Equal(0, exit.Code);
        Assert.Equal([$"port={port}", "storage=emulator", "blob-port=10000", "queue-port=10001", "table-port=10002"], Lines(exit.Stdout));
        Assert.False(Loopback.IsListening(port));
    }

    [Fact]
    public async Task Check_says_account_for_a_storage_account_in_azure_and_refuses_bad_settings_like_a_start()
    {
        var account = await SelfHostProcess.RunAsync(_dir.FullName,
            Settings("DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=bm90LWEtcmVhbC1rZXk=;EndpointSuffix=core.windows.net", 7071), "--check");
        var bad = await SelfHostProcess.RunAsync(_dir.FullName,
            new Dictionary<string, string>(Settings("UseDevelopmentStorage=true", 7071)) { ["MEM0_API"] = "server" }, "--check");

        Assert.Equal(0, account.Code);
        Assert.Contains("storage=account", Lines(account.Stdout));
        Assert.Equal(2, bad.Code);
        Assert.Contains("MEM0_BASE_URL", bad.Stderr);
    }

    private static void AssertOneLineRefusal(SelfHostProcess.Exit exit, params string[] mentions)
    {
        Assert.True(exit.Code == 2, $"exit code {exit.Code}; output: {exit.Stdout}{exit.Stderr}");
        var errors = Lines(exit.Stderr);
        Assert.True(errors.Length == 1, "expected one line on stderr, got: " + exit.Stderr);
        Assert.StartsWith("SupportAgent cannot start: ", errors[0]);
        foreach (var mention in mentions)
        {
            Assert.Contains(mention, errors[0]);
        }
        Assert.DoesNotContain("   at ", exit.Stdout + exit.Stderr);
        Assert.DoesNotContain("Exception", exit.Stdout + exit.Stderr);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
