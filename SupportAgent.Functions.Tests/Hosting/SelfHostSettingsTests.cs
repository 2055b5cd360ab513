using Microsoft.Extensions.Configuration;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Tests.Support;
using SupportAgent.SelfHost;

namespace SupportAgent.Functions.Tests.Hosting;

/// <summary>The self host reads the files `func start` reads: local.settings.json and host.json.</summary>
public sealed class SelfHostSettingsTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("supportagent-settings-");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void Local_settings_values_become_settings_and_the_host_section_gives_port_and_cors()
    {
        File.WriteAllText(Path.Combine(_dir.FullName, "local.settings.json"), """
            {
              "IsEncrypted": false,
              "Values": {
                "OPENAI_API_KEY": "sk-local",
                "AzureWebJobsStorage__accountName": "mystorage",
                "MEMORY_SEARCH_TOP_K": 7
              },
              "Host": { "LocalHttpPort": 7077, "CORS": "http://localhost:3000" }
            }
            """);

        var local = LocalSettings.Find(Path.Combine(_dir.FullName, "missing"), _dir.FullName);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(local.Values).Build();

        Assert.Equal("sk-local", configuration["OPENAI_API_KEY"]);
        Assert.Equal("mystorage", configuration["AzureWebJobsStorage:accountName"]); // the environment-variable spelling, as IConfiguration reads it
        Assert.Equal("7", configuration["MEMORY_SEARCH_TOP_K"]);
        Assert.Equal(7077, local.LocalHttpPort);
        Assert.Equal("http://localhost:3000", local.Cors);
    }

    [Fact]
    public void A_broken_local_settings_file_is_reported_with_its_path()
    {
        string path = Path.Combine(_dir.FullName, "local.settings.json");
        File.WriteAllText(path, "{ \"Values\": { ");

        var ex = Assert.Throws<InvalidDataException>(() => LocalSettings.Read(path));

        Assert.Contains(path, ex.Message);
    }

    [Fact]
    public void Host_json_gives_the_route_prefix_and_queue_settings_and_app_settings_override_them()
    {
        var overrides = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureFunctionsJobHost:extensions:queues:maxDequeueCount"] = "2",
        }).Build();

        var hostJson = HostJson.Load(Path.Combine(RepoPaths.Root, "host.json"), overrides);

        Assert.Equal("api", hostJson.RoutePrefix);
        Assert.Equal(2, hostJson.Queues.MaxDequeueCount);
        Assert.Equal(TimeSpan.FromSeconds(30), hostJson.Queues.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(2), hostJson.Queues.MaxPollingInterval);
        Assert.Equal(16, hostJson.Queues.BatchSize);
        Assert.Equal("base64", hostJson.Queues.MessageEncoding);
    }

    [Fact]
    public async Task Without_a_model_the_self_host_stops_at_once_naming_the_settings_without_a_stack_trace()
    {
        // No local.settings.json in this folder, and no model setting in the environment.
        var exit = await SelfHostProcess.RunAsync(_dir.FullName, new Dictionary<string, string> { ["PORT"] = SupportAgent.Fakes.Loopback.FreePort().ToString() });

        Assert.Equal(2, exit.Code);
        Assert.Contains("OPENAI_API_KEY", exit.Stderr);
        Assert.Contains("AZURE_OPENAI_ENDPOINT", exit.Stderr);
        Assert.DoesNotContain("   at ", exit.Stderr + exit.Stdout);
    }
}
