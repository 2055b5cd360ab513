using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using SupportAgent.Fakes;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Tests.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Hosting;

/// <summary>
/// <c>cp local.settings.json.example local.settings.json</c>, the first thing a newcomer does: filled in with a model
/// and nothing else, memory works; left as it is, the start-up check asks for a model instead of starting with a
/// placeholder key.
/// </summary>
public sealed class LocalSettingsExampleTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("supportagent-example-");

    public void Dispose() => _dir.Delete(recursive: true);

    private JsonObject CopyExample()
    {
        var example = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.Root, "local.settings.json.example")))!.AsObject();
        File.WriteAllText(Path.Combine(_dir.FullName, "local.settings.json"), example.ToJsonString());
        return example;
    }

    [Fact]
    public async Task Copied_as_it_is_the_check_asks_for_a_model_instead_of_using_the_placeholder_key()
    {
        CopyExample();

        var exit = await SelfHostProcess.RunAsync(_dir.FullName, new Dictionary<string, string>(), "--check");

        Assert.Equal(2, exit.Code);
        Assert.Contains("No chat model is configured", exit.Stderr);
        Assert.Contains("OPENAI_API_KEY", exit.Stderr);
    }

    [Fact]
    public async Task With_only_a_model_filled_in_a_new_session_remembers_the_last_one()
    {
        // A user of its own: the shared Azurite's memory table is also written by other tests' "user-001".
        string user = "example-" + Guid.NewGuid().ToString("N")[..8];
        // The model is the only thing filled in (the fake model, so no account is needed); where the test's Azurite
        // and queue are is the test environment's, not a setting a newcomer would touch.
        await using var model = await FakeOpenAiServer.StartNewAsync(new FakeOpenAiServerOptions());
        var example = CopyExample();
        var values = example["Values"]!.AsObject();
        values["OPENAI_BASE_URL"] = model.OpenAiBaseUrl;
        values["OPENAI_API_KEY"] = "sk-local-test";
        File.WriteAllText(Path.Combine(_dir.FullName, "local.settings.json"), example.ToJsonString());
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            LocalSettingsDirectory = _dir.FullName,
            RunQueueListener = true,
            // The host's clock stands still, so the searches' 1 s budget never runs out however busy the machine is:
            // this test is about the example's settings. The first search still waits for the embedding model as a new
            // instance does; that, under any load, is ColdStartTests'.
            ConfigureServices = services => services.Replace(ServiceDescriptor.Singleton<TimeProvider>(new FakeTimeProvider(DateTimeOffset.UtcNow))),
        });

        using (var monday = await app.PostChatAsync(user, ("user", "Hi, my order #1234 hasn't arrived. It's been 10 days")))
        {
            Assert.Equal(HttpStatusCode.OK, monday.StatusCode);
            Assert.Equal("ok", (await monday.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("memory").GetString());
        }
        var store = (IMemoryStore)app.Services.GetService(typeof(IMemoryStore))!;
        await Eventually.WaitFor(async () => (await store.ListAllAsync(user)).Count, n => n >= 1,
            TimeSpan.FromSeconds(30), "the memory of Monday's chat");
        using var tuesday = await app.PostChatAsync(user, ("user", "Any updates?"));

        var body = await tuesday.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("ok", body.GetProperty("memory").GetString());
        Assert.True(body.GetProperty("memoriesUsed").GetInt32() >= 1);
        Assert.Contains("order #1234", model.Requests.ToList()[^1].SystemPrompt);
        Assert.Equal(0, app.Model.RequestCount); // the test service's own fake model: the file named the other one
        Assert.Contains(app.Logs.Lines, l => l.Contains("memory: built-in"));
    }
}
