using System.Net;
using SupportAgent.Fakes;
using SupportAgent.Functions.Memory.Mem0;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary><see cref="Mem0ServerClient"/> against the fake self-hosted Mem0 server (X-API-Key, no /v1, no trailing slashes).</summary>
public sealed class Mem0ServerClientTests : Mem0ClientContractTests
{
    protected override Mem0Flavor Flavor => Mem0Flavor.Server;

    [Fact]
    public async Task Every_call_uses_the_api_key_header_and_the_servers_paths()
    {
        await Fixture.AddAndWaitAsync("alice", "I prefer email");
        var item = Assert.Single(await Client.SearchAsync("alice", "email", 5, CancellationToken.None));
        await Client.ListAllAsync("alice");
        Assert.True(await Client.DeleteAsync("alice", item.Id, CancellationToken.None));
        await Client.DeleteAllAsync("alice", CancellationToken.None);

        var requests = Fake.Requests.ToList();
        Assert.All(requests, r => Assert.Equal(Mem0Fixture.Key, r.XApiKey));
        Assert.All(requests, r => Assert.Null(r.Authorization));
        Assert.Equal(
            ["POST /memories", "POST /search", "GET /memories", $"GET /memories/{item.Id}", $"DELETE /memories/{item.Id}", "DELETE /memories"],
            requests.Select(r => $"{r.Method} {r.Path}"));
        Assert.All(requests, r => Assert.Equal(200, r.ResponseStatus));
    }

    [Fact]
    public async Task The_add_is_synchronous_so_the_memory_is_searchable_at_once()
    {
        await Client.AddAsync(Mem0Fixture.Exchange("alice", "I prefer email"), CancellationToken.None);

        Assert.Equal(1, Fake.AddsCompleted);
        Assert.Single(await Client.SearchAsync("alice", "email", 5, CancellationToken.None));
    }

    [Fact]
    public async Task The_add_sends_no_timestamp_which_the_server_does_not_take()
    {
        await Client.AddAsync(Mem0Fixture.Exchange("alice", "I prefer email") with { CreatedAt = DateTimeOffset.UtcNow.AddDays(-3) }, CancellationToken.None);

        Assert.False(Assert.Single(Fake.RequestsFor(Mem0Operation.Add)).BodyJson().TryGetProperty("timestamp", out _));
    }

    [Fact]
    public async Task List_asks_for_more_than_the_servers_default_of_20()
    {
        for (int i = 1; i <= 25; i++)
        {
            Fake.Seed("alice", $"Fact {i}");
        }

        var listed = await Client.ListAllAsync("alice");

        Assert.Equal(25, listed.Count);
        var list = Assert.Single(Fake.RequestsFor(Mem0Operation.List));
        Assert.Equal("alice", list.Query("user_id"));
        Assert.True(int.Parse(list.Query("top_k")!, System.Globalization.CultureInfo.InvariantCulture) > 20);
    }

    [Fact]
    public async Task Search_scopes_the_user_through_filters()
    {
        await Client.SearchAsync("alice", "order", 5, CancellationToken.None);

        var search = Assert.Single(Fake.RequestsFor(Mem0Operation.Search));
        Assert.Equal("alice", Filters(search).GetProperty("user_id").GetString());
    }

    [Fact]
    public async Task Delete_all_with_a_key_that_is_not_the_admin_key_deletes_the_users_memories_one_by_one()
    {
        await using var fixture = await Mem0Fixture.StartAsync(Mem0Flavor.Server,
            options: new FakeMem0ServerOptions { ApiKey = Mem0Fixture.Key, AdminApiKey = "the-admin-key" });
        await fixture.AddAndWaitAsync("alice", "I prefer email");
        await fixture.AddAndWaitAsync("alice", "I live in Lyon");
        await fixture.AddAndWaitAsync("bob", "I prefer phone");

        await fixture.Client.DeleteAllAsync("alice", CancellationToken.None);

        var refused = Assert.Single(fixture.Fake.RequestsFor(Mem0Operation.DeleteAll));
        Assert.Equal(403, refused.ResponseStatus);
        Assert.Equal(2, fixture.Fake.RequestsFor(Mem0Operation.Delete).Count(r => r.ResponseStatus == 200));
        Assert.Empty(fixture.Fake.MemoriesOf("alice"));
        Assert.Single(fixture.Fake.MemoriesOf("bob"));
    }
}
