using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SupportAgent.Fakes;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Tests.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Scenario;

/// <summary>
/// What a user tells us changes over weeks. Through the real service with the built-in store (no memory setting): each
/// statement is a chat, written to memory through the queue; a later session's prompt lists what is remembered newest
/// first, dated, under today's date, so the newest statement is what the model reads first.
/// </summary>
public sealed class UpdatedFactsScenarioTests
{
    public static TheoryData<string[], string> Updates() => new()
    {
        { ["Hi, my order #1234 has not arrived. It has been 10 days", "Actually the order arrived yesterday, thanks! But the box was damaged."], "What's the status of my order?" },
        { ["I live at 3 Park Lane, Bristol.", "I've moved, my new address is 22 Harbour Street, Cardiff."], "Where should the replacement be delivered?" },
        { ["Please contact me by phone, I rarely check my inbox.", "From now on please email me instead of calling."], "How should your team get in touch with me?" },
        { ["I live at 8 Mill Road, York.", "We moved to 41 Castle Street, Durham.", "New address again: 5 Quay Lane, Newcastle."], "Which address will my parcel go to?" },
    };

    [Theory]
    [MemberData(nameof(Updates))]
    public async Task A_later_session_hears_the_newest_statement_first_and_dated(string[] said, string question)
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { BuiltInMemory = true, RunQueueListener = true });
        string user = "user-" + Guid.NewGuid().ToString("N")[..8];
        var store = (IMemoryStore)app.Services.GetService(typeof(IMemoryStore))!;
        var firstDay = DateOnly.FromDateTime(DateTime.UtcNow);
        for (int i = 0; i < said.Length; i++)
        {
            using (var response = await app.PostChatAsync(user, ("user", said[i])))
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
            await Eventually.WaitFor(async () => (await store.ListAllAsync(user)).Count, n => n >= i + 1, TimeSpan.FromSeconds(30), $"statement {i + 1} in memory");
        }
        using var later = await app.PostChatAsync(user, ("user", question));

        var lastDay = DateOnly.FromDateTime(DateTime.UtcNow);
        var body = await later.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("ok", body.GetProperty("memory").GetString());
        var facts = FakeOpenAiServer.MemoryFacts(app.Model.Requests.ToList()[^1].SystemPrompt).ToList();
        Assert.NotEmpty(facts);
        Assert.EndsWith(": " + said[^1], facts[0]); // the newest first, with its date
        Assert.InRange(DateOnly.ParseExact(facts[0][..10], "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture), firstDay, lastDay);
        Assert.All(said[..^1], older => Assert.True(facts.FindIndex(f => f.EndsWith(older, StringComparison.Ordinal)) is -1 or > 0));
        Assert.StartsWith($"I remember: {facts[0].TrimEnd('.')}", body.GetProperty("message").GetString()); // what the fake model was told first
    }

    [Fact]
    public async Task The_users_list_shows_a_replaced_memory_as_replaced_by_the_newer_one()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { BuiltInMemory = true });
        string user = "user-" + Guid.NewGuid().ToString("N")[..8];
        var store = (IMemoryStore)app.Services.GetService(typeof(IMemoryStore))!;
        var now = DateTimeOffset.UtcNow;
        await store.AddAsync(BuiltInMemoryStoreTests.Exchange(user, "My phone number is 07700 900123.") with { CreatedAt = now.AddDays(-9) }, CancellationToken.None);
        await store.AddAsync(BuiltInMemoryStoreTests.Exchange(user, "My phone number changed to 07700 900456.") with { CreatedAt = now.AddDays(-2) }, CancellationToken.None);

        var list = await app.Client.GetFromJsonAsync<JsonElement>($"/api/users/{user}/memories");

        var memories = list.GetProperty("memories").EnumerateArray().ToList();
        Assert.Equal(["My phone number changed to 07700 900456.", "My phone number is 07700 900123."], memories.Select(m => m.GetProperty("memory").GetString()));
        Assert.Equal(JsonValueKind.Null, memories[0].GetProperty("supersededBy").ValueKind);
        Assert.Equal(memories[0].GetProperty("id").GetString(), memories[1].GetProperty("supersededBy").GetString());
    }
}
