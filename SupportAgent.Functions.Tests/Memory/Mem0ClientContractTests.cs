using System.Net;
using System.Text.Json;
using SupportAgent.Fakes;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.Mem0;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary>What both of our Mem0 clients must do, each against the fake of its own API (see the two subclasses).</summary>
public abstract class Mem0ClientContractTests : IAsyncLifetime
{
    private Mem0Fixture? _fixture;

    protected abstract Mem0Flavor Flavor { get; }

    protected Mem0Fixture Fixture => _fixture ?? throw new InvalidOperationException("not started");

    protected FakeMem0Server Fake => Fixture.Fake;

    protected IMemoryStore Client => Fixture.Client;

    public virtual async Task InitializeAsync() => _fixture = await Mem0Fixture.StartAsync(Flavor);

    public async Task DisposeAsync()
    {
        if (_fixture is not null)
        {
            await _fixture.DisposeAsync();
        }
    }

    [Fact]
    public async Task Add_then_search_finds_the_memory_for_that_user_only()
    {
        await Fixture.AddAndWaitAsync("alice", "My order #1234 hasn't arrived");
        await Fixture.AddAndWaitAsync("bob", "My order #9999 is missing a part");

        var alice = await Client.SearchAsync("alice", "Where is my order?", 5, CancellationToken.None);
        var bob = await Client.SearchAsync("bob", "Where is my order?", 5, CancellationToken.None);
        var carol = await Client.SearchAsync("carol", "Where is my order?", 5, CancellationToken.None);

        Assert.Equal("My order #1234 hasn't arrived", Assert.Single(alice).Memory);
        Assert.Equal("My order #9999 is missing a part", Assert.Single(bob).Memory);
        Assert.Empty(carol);
        Assert.All(alice.Concat(bob), m => Assert.InRange(m.Score!.Value, 0, 1));
        Assert.All(alice.Concat(bob), m => Assert.True(Guid.TryParse(m.Id, out _), m.Id));
    }

    [Fact]
    public async Task Add_stores_only_the_users_messages_with_the_metadata_sent()
    {
        await Fixture.AddAndWaitAsync("alice", "I prefer email over phone");

        var stored = Assert.Single(Fake.MemoriesOf("alice"));
        Assert.Equal("I prefer email over phone", stored.Text); // the assistant's "Noted, thanks." is not a memory
        Assert.Equal("supportagent", stored.MetadataValue("source"));
        Assert.StartsWith("ex-", stored.MetadataValue("exchange_id"));

        var add = Assert.Single(Fake.RequestsFor(Mem0Operation.Add));
        var body = add.BodyJson();
        Assert.Equal("alice", body.GetProperty("user_id").GetString());
        Assert.Equal(2, body.GetProperty("messages").GetArrayLength());
        Assert.Equal(200, add.ResponseStatus);
    }

    [Fact]
    public async Task Search_dates_each_memory_by_its_updated_at_else_its_created_at()
    {
        var said = new DateTimeOffset(2026, 5, 17, 8, 0, 0, TimeSpan.Zero);
        Fake.Seed("alice", "I prefer email over phone", saidAt: said);

        var found = Assert.Single(await Client.SearchAsync("alice", "email", 5, CancellationToken.None));

        Assert.Equal(said, found.CreatedAt);
        Assert.Equal(said, found.UpdatedAt);
        Assert.Equal(said, found.SaidAt);
    }

    [Fact]
    public async Task A_vague_query_still_finds_the_users_facts()
    {
        await Fixture.AddAndWaitAsync("alice", "My order #1234 hasn't arrived");
        await Fixture.AddAndWaitAsync("alice", "I prefer email over phone");

        var found = await Client.SearchAsync("alice", "Any updates?", 5, CancellationToken.None);

        Assert.Equal(2, found.Count);
    }

    [Fact]
    public async Task Search_ranks_matching_memories_first_and_honours_top_k()
    {
        await Fixture.AddAndWaitAsync("alice", "My order #1234 hasn't arrived");
        await Fixture.AddAndWaitAsync("alice", "I prefer email over phone");
        await Fixture.AddAndWaitAsync("alice", "I live in Lisbon");

        var top1 = await Client.SearchAsync("alice", "contact me by email please", 1, CancellationToken.None);
        var all = await Client.SearchAsync("alice", "contact me by email please", 10, CancellationToken.None);

        Assert.Equal("I prefer email over phone", Assert.Single(top1).Memory);
        Assert.Equal(3, all.Count);
        Assert.Equal("I prefer email over phone", all[0].Memory);
        Assert.True(all[0].Score > all[1].Score);
    }

    [Fact]
    public async Task Search_sends_top_k_and_never_limit()
    {
        await Client.SearchAsync("alice", "order", 7, CancellationToken.None);

        var body = Assert.Single(Fake.RequestsFor(Mem0Operation.Search)).BodyJson();
        Assert.Equal(7, body.GetProperty("top_k").GetInt32());
        Assert.False(body.TryGetProperty("limit", out _));
        Assert.Equal("order", body.GetProperty("query").GetString());
    }

    [Fact]
    public async Task List_returns_all_of_the_users_memories_and_no_one_elses()
    {
        await Fixture.AddAndWaitAsync("alice", "First fact");
        await Fixture.AddAndWaitAsync("alice", "Second fact");
        await Fixture.AddAndWaitAsync("bob", "Bob's fact");

        var listed = await Client.ListAllAsync("alice");

        Assert.Equal(["First fact", "Second fact"], listed.Select(m => m.Memory).Order());
        Assert.All(Fake.RequestsFor(Mem0Operation.List), r => Assert.False(r.Body.Contains("limit", StringComparison.Ordinal) || r.QueryString.Contains("limit", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Delete_removes_one_memory()
    {
        await Fixture.AddAndWaitAsync("alice", "First fact");
        await Fixture.AddAndWaitAsync("alice", "Second fact");
        var first = (await Client.ListAllAsync("alice")).Single(m => m.Memory == "First fact");

        Assert.True(await Client.DeleteAsync("alice", first.Id, CancellationToken.None));

        Assert.Equal("Second fact", Assert.Single(await Client.ListAllAsync("alice")).Memory);
    }

    [Fact]
    public async Task Deleting_a_memory_that_is_not_there_answers_false()
    {
        Assert.False(await Client.DeleteAsync("alice", Guid.NewGuid().ToString(), CancellationToken.None));
    }

    [Fact]
    public async Task Another_users_memory_id_is_not_found_and_stays()
    {
        await Fixture.AddAndWaitAsync("bob", "Bob's fact");
        var bobs = Assert.Single(await Client.ListAllAsync("bob"));

        Assert.False(await Client.DeleteAsync("alice", bobs.Id, CancellationToken.None));

        Assert.Equal("Bob's fact", Assert.Single(await Client.ListAllAsync("bob")).Memory);
        Assert.Equal(0, Fake.RequestCount(Mem0Operation.Delete));
    }

    [Fact]
    public async Task Delete_all_removes_that_users_memories_only()
    {
        await Fixture.AddAndWaitAsync("alice", "Alice's fact");
        await Fixture.AddAndWaitAsync("bob", "Bob's fact");

        await Client.DeleteAllAsync("alice", CancellationToken.None);

        Assert.Empty(await Client.ListAllAsync("alice"));
        Assert.Empty(await Client.SearchAsync("alice", "fact", 5, CancellationToken.None));
        Assert.Equal("Bob's fact", Assert.Single(await Client.ListAllAsync("bob")).Memory);
        Assert.Equal("alice", Assert.Single(Fake.RequestsFor(Mem0Operation.DeleteAll)).Query("user_id"));
    }

    [Fact]
    public async Task User_ids_with_reserved_characters_are_escaped_in_paths_and_queries()
    {
        const string userId = "alice+ops@example.com&x=1";
        await Fixture.AddAndWaitAsync(userId, "Fact with an email-like id");

        Assert.Single(await Client.ListAllAsync(userId));
        await Client.DeleteAllAsync(userId, CancellationToken.None);
        Assert.Empty(Fake.MemoriesOf(userId));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("*")]
    [InlineData("alice*")]
    public async Task Empty_and_wildcard_user_ids_are_refused_before_anything_is_sent(string userId)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Client.SearchAsync(userId, "order", 5, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.AddAsync(Mem0Fixture.Exchange(userId, "hi"), CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.ListAsync(userId, 10, null, CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.DeleteAsync(userId, "m1", CancellationToken.None));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.DeleteAllAsync(userId, CancellationToken.None));

        Assert.Equal(0, Fake.Requests.Count);
        Assert.Equal(0, Fake.WildcardUserIdRequests);
    }

    [Theory]
    [InlineData("")]
    [InlineData("*")]
    [InlineData("a/b")]
    public async Task Empty_wildcard_and_path_memory_ids_are_refused_before_anything_is_sent(string memoryId)
    {
        Assert.False(await Client.DeleteAsync("alice", memoryId, CancellationToken.None));

        Assert.Equal(0, Fake.Requests.Count);
    }

    [Fact]
    public async Task A_server_error_is_transient_and_the_next_call_succeeds()
    {
        Fake.SearchFaults.FailNext(1, FakeFault.ServerError);

        var ex = await Assert.ThrowsAsync<MemoryStoreException>(() => Client.SearchAsync("alice", "order", 5, CancellationToken.None));
        await Client.SearchAsync("alice", "order", 5, CancellationToken.None);

        Assert.Equal((int)HttpStatusCode.InternalServerError, ex.Status);
        Assert.True(ex.IsTransient);
        Assert.Null(ex.RetryAfter);
        Assert.Equal([500, 200], Fake.RequestsFor(Mem0Operation.Search).Select(r => r.ResponseStatus ?? -1));
    }

    [Fact]
    public async Task A_rate_limit_is_transient_and_carries_retry_after()
    {
        Fake.AddFaults.FailNext(1, FakeFault.TooManyRequests(TimeSpan.FromSeconds(7)));

        var ex = await Assert.ThrowsAsync<MemoryStoreException>(() => Client.AddAsync(Mem0Fixture.Exchange("alice", "hi"), CancellationToken.None));

        Assert.Equal((int)HttpStatusCode.TooManyRequests, ex.Status);
        Assert.True(ex.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
        Assert.Equal(0, Fake.AddsCompleted);
    }

    [Theory]
    [InlineData(400)]
    [InlineData(401)]
    [InlineData(403)]
    public async Task Client_errors_are_not_transient(int status)
    {
        Fake.FaultsFor(Mem0Operation.List).FailAlways(FakeFault.WithStatus(status));

        var ex = await Assert.ThrowsAsync<MemoryStoreException>(() => Client.ListAllAsync("alice"));

        Assert.Equal(status, ex.Status);
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task A_wrong_key_is_refused_with_401_not_transient()
    {
        using var http = Mem0Fixture.CreateHttpClient(Fake, Flavor, "not-the-key");
        IMemoryStore client = Flavor == Mem0Flavor.Platform ? new Mem0PlatformClient(http) : new Mem0ServerClient(http);

        var ex = await Assert.ThrowsAsync<MemoryStoreException>(() => client.SearchAsync("alice", "order", 5, CancellationToken.None));

        Assert.Equal((int)HttpStatusCode.Unauthorized, ex.Status);
        Assert.False(ex.IsTransient);
        Assert.Equal(1, Fake.UnauthorizedRequests);
    }

    [Fact]
    public async Task A_server_that_is_down_is_a_transient_failure()
    {
        await Fake.StopAsync();

        var ex = await Assert.ThrowsAsync<MemoryStoreException>(() => Client.SearchAsync("alice", "order", 5, CancellationToken.None));

        Assert.True(ex.IsTransient);
        Assert.Null(ex.Status);
        Assert.IsType<HttpRequestException>(ex.InnerException);
    }

    [Fact]
    public async Task A_server_that_hangs_past_the_client_timeout_is_a_transient_timeout()
    {
        using var http = Mem0Fixture.CreateHttpClient(Fake, Flavor, Mem0Fixture.Key);
        http.Timeout = TimeSpan.FromMilliseconds(300);
        IMemoryStore client = Flavor == Mem0Flavor.Platform ? new Mem0PlatformClient(http) : new Mem0ServerClient(http);
        Fake.SearchFaults.FailAlways(FakeFault.Hang());

        var ex = await Assert.ThrowsAsync<MemoryStoreException>(() => client.SearchAsync("alice", "order", 5, CancellationToken.None));

        Assert.True(ex.IsTransient);
        Assert.Null(ex.Status);
    }

    [Fact]
    public async Task A_caller_cancelling_is_not_turned_into_a_Mem0_failure()
    {
        Fake.SearchFaults.FailAlways(FakeFault.Hang());
        using var cts = new CancellationTokenSource();
        var search = Client.SearchAsync("alice", "order", 5, cts.Token);
        await Fake.WaitForRequestsAsync(Mem0Operation.Search, 1, Mem0Fixture.WaitTimeout);

        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => search);
    }

    protected static JsonElement Filters(RecordedMem0Request request) => request.BodyJson().GetProperty("filters");
}
