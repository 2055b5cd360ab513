using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SupportAgent.Fakes;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Tests.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Scenario;

/// <summary>
/// The tutorial's scenario through the real service: the chat function, the queue on Azurite, the queue listener
/// running the memory writer, and memory, for each memory backend. Monday's order is known on Tuesday, to that user only.
/// </summary>
public sealed class TutorialScenarioTests
{
    public static TheoryData<string> Backends() => ["platform", "server", "builtin"];

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_new_session_remembers_the_order_and_other_users_see_nothing_of_it(string backend)
    {
        // The tutorial's user-001 and user-002, made unique: the built-in store's table on the shared Azurite is written by
        // other tests at the same time.
        string suffix = Guid.NewGuid().ToString("N")[..8];
        string user1 = "user-001-" + suffix, user2 = "user-002-" + suffix;
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            Mem0Flavor = backend == "server" ? Mem0Flavor.Server : Mem0Flavor.Platform,
            BuiltInMemory = backend == "builtin",
            RunQueueListener = true,
        });

        // Monday: user-001 reports the order.
        using (var monday = await app.PostChatAsync(user1, ("user", "Hi, my order #1234 hasn't arrived. It's been 10 days")))
        {
            Assert.Equal(HttpStatusCode.OK, monday.StatusCode);
        }
        await WaitUntilRemembered(app, backend, user1);

        // Tuesday: a new session sends only "Any updates?".
        using var tuesday = await app.PostChatAsync(user1, ("user", "Any updates?"));
        Assert.Equal(HttpStatusCode.OK, tuesday.StatusCode);
        var body = await tuesday.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(body.GetProperty("memoriesUsed").GetInt32() >= 1);
        string tuesdayPrompt = app.Model.Requests.ToList()[^1].SystemPrompt!;
        Assert.Contains("order #1234", tuesdayPrompt);
        Assert.Contains("10 days", tuesdayPrompt);
        Assert.Contains("1234", body.GetProperty("message").GetString()); // the fake model repeats what it was told it remembers

        // Another user asking the same sees nothing of user-001's.
        using var other = await app.PostChatAsync(user2, ("user", "Any updates?"));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Equal(0, (await other.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("memoriesUsed").GetInt32());
        Assert.DoesNotContain("1234", app.Model.Requests.ToList()[^1].SystemPrompt);
    }

    private static async Task WaitUntilRemembered(TestService app, string backend, string userId)
    {
        if (backend == "builtin")
        {
            var store = (IMemoryStore)app.Services.GetService(typeof(IMemoryStore))!;
            await Eventually.WaitFor(async () => (await store.ListAllAsync(userId)).Count, n => n >= 1,
                TimeSpan.FromSeconds(30), "the built-in store to hold the exchange");
        }
        else
        {
            await app.Mem0.WaitForAddsAsync(userId, 1, TimeSpan.FromSeconds(30));
        }
    }
}
