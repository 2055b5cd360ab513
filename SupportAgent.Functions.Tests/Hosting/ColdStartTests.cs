using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Time.Testing;
using SupportAgent.Functions.Tests.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Hosting;

/// <summary>
/// A new instance (scale-out starts them all the time) gets its first chat while the built-in store's embedding model
/// is still loading. The test holds the model's load for as long as it likes and runs the host on fake time, so the
/// machine may be as busy as it is: the first chat must still get its memories, not "timeout".
/// </summary>
public sealed class ColdStartTests
{
    [Fact]
    public async Task The_first_chat_on_a_just_started_instance_gets_its_memories_while_the_model_is_still_loading()
    {
        string user = "user-" + Guid.NewGuid().ToString("N")[..8];
        // Written earlier, by another instance.
        await BuiltInMemoryStoreTests.NewStore().AddAsync(BuiltInMemoryStoreTests.Exchange(user, "Hi, my order #1234 hasn't arrived. It's been 10 days"), CancellationToken.None);
        using var loading = new ModelLoadGate();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            BuiltInMemory = true,
            ConfigureServices = services =>
            {
                services.Replace(ServiceDescriptor.Singleton<IEmbeddingGenerator<string, Embedding<float>>>(loading.Model));
                services.Replace(ServiceDescriptor.Singleton<TimeProvider>(time));
            },
        });
        try
        {
            await loading.Started.WaitAsync(Eventually.Generous); // the instance began loading its model at start
            var chat = app.PostChatAsync(user, ("user", "Any updates?"));
            await Eventually.WaitFor(() => app.Logs.Lines.Any(l => l.Contains("waits for the memory store to start", StringComparison.Ordinal)),
                Eventually.Generous, "the first chat's search to wait for the loading model");
            Assert.False(loading.Model.IsLoaded);
            time.Advance(TimeSpan.FromSeconds(10)); // the 1 s search budget passes ten times over while the model loads
            loading.Release();

            using var response = await chat.WaitAsync(Eventually.Generous);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("ok", body.GetProperty("memory").GetString());
            Assert.Equal(1, body.GetProperty("memoriesUsed").GetInt32());
            Assert.Contains("order #1234", app.Model.Requests.ToList()[^1].SystemPrompt);
        }
        finally
        {
            loading.Release(); // a failed test must not leave the host's stop waiting for the model
        }
    }
}
