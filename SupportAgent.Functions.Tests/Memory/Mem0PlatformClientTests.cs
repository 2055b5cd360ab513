using SupportAgent.Fakes;
using SupportAgent.Functions.Memory.Mem0;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary><see cref="Mem0PlatformClient"/> against the fake Mem0 Platform (v3 add/search/list, v1 deletes, Token auth).</summary>
public sealed class Mem0PlatformClientTests : Mem0ClientContractTests
{
    protected override Mem0Flavor Flavor => Mem0Flavor.Platform;

    [Fact]
    public async Task Every_call_uses_token_auth_and_the_documented_paths()
    {
        await Fixture.AddAndWaitAsync("alice", "I prefer email");
        var item = Assert.Single(await Client.SearchAsync("alice", "email", 5, CancellationToken.None));
        await Client.ListAllAsync("alice");
        Assert.True(await Client.DeleteAsync("alice", item.Id, CancellationToken.None));
        await Client.DeleteAllAsync("alice", CancellationToken.None);

        var requests = Fake.Requests.ToList();
        Assert.All(requests, r => Assert.Equal("Token " + Mem0Fixture.Key, r.Authorization));
        Assert.All(requests, r => Assert.Null(r.XApiKey));
        Assert.Equal(
            ["POST /v3/memories/add/", "POST /v3/memories/search/", "POST /v3/memories/", $"GET /v1/memories/{item.Id}/", $"DELETE /v1/memories/{item.Id}/", "DELETE /v1/memories/"],
            requests.Select(r => $"{r.Method} {r.Path}"));
        Assert.All(requests, r => Assert.Equal(200, r.ResponseStatus));
    }

    [Fact]
    public async Task Search_puts_the_user_id_inside_filters_and_not_at_the_top_level()
    {
        await Client.SearchAsync("alice", "order", 5, CancellationToken.None);

        var search = Assert.Single(Fake.RequestsFor(Mem0Operation.Search));
        Assert.Equal("filters", search.UserIdSource);
        Assert.Equal("alice", Filters(search).GetProperty("user_id").GetString());
        Assert.False(search.BodyJson().TryGetProperty("user_id", out _)); // v3 answers 400 to a top-level entity id
        Assert.False(search.BodyJson().GetProperty("rerank").GetBoolean());
    }

    [Fact]
    public async Task List_sends_the_user_in_filters_and_follows_every_page()
    {
        Fake.PageSizeLimit = 2; // the client asks for 100 per page; the fake pages by 2 so paging is exercised
        for (int i = 1; i <= 5; i++)
        {
            Fake.Seed("alice", $"Fact {i}");
        }

        var listed = await Client.ListAllAsync("alice", pageSize: 100);

        Assert.Equal(Enumerable.Range(1, 5).Select(i => $"Fact {i}"), listed.Select(m => m.Memory).Order());
        var pages = Fake.RequestsFor(Mem0Operation.List).ToList();
        Assert.Equal(["1", "2", "3"], pages.Select(p => p.Query("page")));
        Assert.All(pages, p => Assert.Equal("alice", Filters(p).GetProperty("user_id").GetString()));
    }

    [Fact]
    public async Task A_late_add_is_dated_when_it_was_said_not_when_it_was_written()
    {
        // The queue retried this exchange three days after the user said it.
        var said = new DateTimeOffset(2026, 3, 2, 9, 30, 15, TimeSpan.Zero);
        int before = Fake.AddsFor("alice");
        await Client.AddAsync(Mem0Fixture.Exchange("alice", "I moved to Cardiff") with { CreatedAt = said }, CancellationToken.None);
        await Fake.WaitForAddsAsync("alice", before + 1, Mem0Fixture.WaitTimeout);

        var add = Assert.Single(Fake.RequestsFor(Mem0Operation.Add));
        Assert.Equal(said.ToUnixTimeSeconds(), add.BodyJson().GetProperty("timestamp").GetInt64());
        var found = Assert.Single(await Client.SearchAsync("alice", "Where do I live?", 5, CancellationToken.None));
        Assert.Equal(said, found.SaidAt);
    }

    [Fact]
    public async Task An_accepted_add_is_not_searchable_until_the_platform_has_processed_it()
    {
        Fake.ProcessingDelay = TimeSpan.FromMinutes(10); // processing "never" finishes until the fake stops

        await Client.AddAsync(Mem0Fixture.Exchange("alice", "I prefer email"), CancellationToken.None);

        Assert.Empty(await Client.SearchAsync("alice", "email", 5, CancellationToken.None));
        Assert.Equal(0, Fake.AddsCompleted);
        Assert.Equal(1, Fake.RequestCount(Mem0Operation.Add));
    }

    [Fact]
    public async Task A_pending_add_becomes_searchable_once_processed()
    {
        Fake.ProcessingDelay = TimeSpan.FromMilliseconds(100);

        await Client.AddAsync(Mem0Fixture.Exchange("alice", "I prefer email"), CancellationToken.None);
        await Fake.WaitForAddsAsync("alice", 1, Mem0Fixture.WaitTimeout);

        Assert.Equal("I prefer email", Assert.Single(await Client.SearchAsync("alice", "email", 5, CancellationToken.None)).Memory);
    }
}
