using System.Net;
using System.Text;
using System.Text.Json;
using SupportAgent.Fakes;

namespace SupportAgent.Functions.Tests.Fakes;

/// <summary>The fake Mem0's own wire contract, over raw HTTP, so clients other than ours can rely on it too.</summary>
public sealed class FakeMem0ServerTests
{
    private const string Key = "k1";
    private static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(10);

    private static async Task<(FakeMem0Server Fake, HttpClient Http)> StartAsync(Mem0Flavor flavor, FakeMem0ServerOptions? options = null)
    {
        var fake = await FakeMem0Server.StartNewAsync((options ?? new()) with { Flavor = flavor, ApiKey = options?.ApiKey ?? Key });
        var http = new HttpClient { BaseAddress = fake.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (flavor == Mem0Flavor.Platform)
        {
            http.DefaultRequestHeaders.Add("Authorization", "Token " + Key);
        }
        else
        {
            http.DefaultRequestHeaders.Add("X-API-Key", Key);
        }
        return (fake, http);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private static async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpClient http, HttpMethod method, string path, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path) { Content = json is null ? null : Json(json) };
        using var response = await http.SendAsync(request);
        string text = await response.Content.ReadAsStringAsync();
        using var document = text.Length == 0 ? null : JsonDocument.Parse(text);
        return (response.StatusCode, document?.RootElement.Clone() ?? default);
    }

    [Fact]
    public async Task Platform_requires_token_auth()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Platform);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;
        using var anonymous = new HttpClient { BaseAddress = fake.BaseAddress };
        using var bearer = new HttpClient { BaseAddress = fake.BaseAddress };
        bearer.DefaultRequestHeaders.Add("Authorization", "Bearer " + Key);
        const string Search = """{"query":"x","filters":{"user_id":"u1"}}""";

        var withToken = await SendAsync(http, HttpMethod.Post, "v3/memories/search/", Search);
        var noAuth = await SendAsync(anonymous, HttpMethod.Post, "v3/memories/search/", Search);
        var wrongScheme = await SendAsync(bearer, HttpMethod.Post, "v3/memories/search/", Search);

        Assert.Equal(HttpStatusCode.OK, withToken.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, noAuth.Status);
        Assert.StartsWith("Invalid API key", noAuth.Body.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, wrongScheme.Status);
        Assert.Equal(2, fake.UnauthorizedRequests);
    }

    [Fact]
    public async Task Platform_v3_add_is_accepted_as_pending_and_v3_search_returns_results()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Platform);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;

        var add = await SendAsync(http, HttpMethod.Post, "v3/memories/add/",
            """{"messages":[{"role":"user","content":"  I prefer email  "},{"role":"assistant","content":"Noted"}],"user_id":"u1","metadata":{"k":"v"}}""");
        var search = await SendAsync(http, HttpMethod.Post, "v3/memories/search/", """{"query":"email?","filters":{"user_id":"u1"},"top_k":5}""");

        Assert.Equal(HttpStatusCode.OK, add.Status);
        Assert.Equal("PENDING", add.Body.GetProperty("status").GetString());
        Assert.True(Guid.TryParse(add.Body.GetProperty("event_id").GetString(), out _));
        var item = Assert.Single(search.Body.GetProperty("results").EnumerateArray());
        Assert.Equal("I prefer email", item.GetProperty("memory").GetString());
        Assert.Equal("u1", item.GetProperty("user_id").GetString());
        Assert.Equal("v", item.GetProperty("metadata").GetProperty("k").GetString());
        Assert.InRange(item.GetProperty("score").GetDouble(), 0, 1);
        Assert.Equal(JsonValueKind.Array, item.GetProperty("categories").ValueKind);
        Assert.True(DateTimeOffset.TryParse(item.GetProperty("created_at").GetString(), out _));
    }

    [Theory]
    [InlineData("""{"query":"x","user_id":"u1"}""", HttpStatusCode.BadRequest)]                             // entity id outside filters
    [InlineData("""{"query":"x","filters":{}}""", HttpStatusCode.BadRequest)]                               // no entity id
    [InlineData("""{"query":"x"}""", HttpStatusCode.BadRequest)]                                            // no filters
    [InlineData("""{"query":"x","filters":{"user_id":"u1"},"top_k":0}""", HttpStatusCode.BadRequest)]       // top_k out of range
    [InlineData("""{"query":"x","filters":{"AND":[{"user_id":"u1"}]}}""", HttpStatusCode.OK)]               // v2-style filters
    public async Task Platform_v3_search_validates_like_the_real_one(string body, HttpStatusCode expected)
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Platform);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;

        var result = await SendAsync(http, HttpMethod.Post, "v3/memories/search/", body);

        Assert.Equal(expected, result.Status);
    }

    [Fact]
    public async Task Platform_list_pages_and_paths_need_their_trailing_slash()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Platform);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;
        var first = fake.Seed("u1", "Fact one");
        fake.Seed("u1", "Fact two");

        var paged = await SendAsync(http, HttpMethod.Post, "v3/memories/?page=1&page_size=1", """{"filters":{"user_id":"u1"}}""");
        var noUser = await SendAsync(http, HttpMethod.Post, "v3/memories/", """{"filters":{}}""");
        var one = await SendAsync(http, HttpMethod.Get, $"v1/memories/{first.Id}/");
        var noSlash = await SendAsync(http, HttpMethod.Get, $"v1/memories/{first.Id}");

        Assert.Equal(2, paged.Body.GetProperty("count").GetInt32());
        Assert.Single(paged.Body.GetProperty("results").EnumerateArray());
        Assert.EndsWith("page=2&page_size=1", paged.Body.GetProperty("next").GetString());
        Assert.Equal(JsonValueKind.Null, paged.Body.GetProperty("previous").ValueKind);
        Assert.Equal(HttpStatusCode.BadRequest, noUser.Status);
        Assert.Equal("u1", one.Body.GetProperty("user_id").GetString());
        Assert.Equal(HttpStatusCode.NotFound, noSlash.Status);
        Assert.Equal(Mem0Operation.Unknown, fake.Requests.ToList()[^1].Operation);
    }

    [Fact]
    public async Task Platform_deletes_answer_as_documented()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Platform);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;
        var memory = fake.Seed("u1", "Fact one");
        fake.Seed("u1", "Fact two");

        var one = await SendAsync(http, HttpMethod.Delete, $"v1/memories/{memory.Id}/");
        var again = await SendAsync(http, HttpMethod.Delete, $"v1/memories/{memory.Id}/");
        var notUuid = await SendAsync(http, HttpMethod.Delete, "v1/memories/not-a-uuid/");
        var all = await SendAsync(http, HttpMethod.Delete, "v1/memories/?user_id=u1");

        Assert.Equal("Memory deleted successfully!", one.Body.GetProperty("message").GetString());
        Assert.Equal(HttpStatusCode.NotFound, again.Status);
        Assert.Equal("Memory not found!", again.Body.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, notUuid.Status);
        Assert.Equal("Delete in progress. This may take some time.", all.Body.GetProperty("message").GetString());
        Assert.True(all.Body.TryGetProperty("event_id", out _));
        Assert.Empty(fake.MemoriesOf("u1"));
    }

    [Fact]
    public async Task A_wildcard_user_id_is_recorded_and_reads_every_user_as_on_the_real_platform()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Platform);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;
        fake.Seed("u1", "Fact one");
        fake.Seed("u2", "Fact two");

        var search = await SendAsync(http, HttpMethod.Post, "v3/memories/search/", """{"query":"fact","filters":{"user_id":"*"}}""");

        Assert.Equal(2, search.Body.GetProperty("results").GetArrayLength());
        Assert.Equal(1, fake.WildcardUserIdRequests);
        var recorded = Assert.Single(fake.Requests.ToList());
        Assert.True(recorded.HasWildcardUserId);
        Assert.Equal("*", recorded.UserId);
    }

    [Fact]
    public async Task Platform_processing_delay_keeps_an_accepted_add_out_of_search_until_it_is_processed()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Platform, new FakeMem0ServerOptions { ProcessingDelay = TimeSpan.FromMinutes(10) });
        await using var fakeLifetime = fake;
        using var httpLifetime = http;

        var add = await SendAsync(http, HttpMethod.Post, "v3/memories/add/", """{"messages":[{"role":"user","content":"Fact"}],"user_id":"u1"}""");
        var search = await SendAsync(http, HttpMethod.Post, "v3/memories/search/", """{"query":"fact","filters":{"user_id":"u1"}}""");

        Assert.Equal("PENDING", add.Body.GetProperty("status").GetString());
        Assert.Empty(search.Body.GetProperty("results").EnumerateArray());
        Assert.Empty(fake.MemoriesOf("u1"));

        fake.ProcessingDelay = TimeSpan.Zero; // later adds complete at once; the pending one completes when the fake stops
        await SendAsync(http, HttpMethod.Post, "v3/memories/add/", """{"messages":[{"role":"user","content":"Second"}],"user_id":"u1"}""");
        await fake.WaitForAddsAsync("u1", 1, WaitTimeout);
        Assert.Equal("Second", Assert.Single(fake.MemoriesOf("u1")).Text);
    }

    [Fact]
    public async Task Server_ignores_token_auth_and_has_no_v1_prefix_or_trailing_slashes()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Server);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;
        using var token = new HttpClient { BaseAddress = fake.BaseAddress };
        token.DefaultRequestHeaders.Add("Authorization", "Token " + Key);

        var withToken = await SendAsync(token, HttpMethod.Get, "memories?user_id=u1");
        var trailing = await SendAsync(http, HttpMethod.Get, "memories/?user_id=u1");
        var v1 = await SendAsync(http, HttpMethod.Get, "v1/memories/?user_id=u1");
        var ok = await SendAsync(http, HttpMethod.Get, "memories?user_id=u1");

        Assert.Equal(HttpStatusCode.Unauthorized, withToken.Status);
        Assert.Equal("Authentication required. Provide a Bearer token or X-API-Key header.", withToken.Body.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, trailing.Status);
        Assert.Equal(HttpStatusCode.NotFound, v1.Status);
        Assert.Equal(HttpStatusCode.OK, ok.Status);
        Assert.Equal(JsonValueKind.Array, ok.Body.GetProperty("results").ValueKind);
    }

    [Fact]
    public async Task Server_add_is_synchronous_and_search_merges_top_level_ids_with_default_top_k_20()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Server);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;
        for (int i = 0; i < 25; i++)
        {
            fake.Seed("u1", $"Fact {i}");
        }

        var add = await SendAsync(http, HttpMethod.Post, "memories", """{"messages":[{"role":"user","content":"I prefer email"}],"user_id":"u1"}""");
        var search = await SendAsync(http, HttpMethod.Post, "search", """{"query":"email","user_id":"u1"}""");
        var list = await SendAsync(http, HttpMethod.Get, "memories?user_id=u1");
        var noUser = await SendAsync(http, HttpMethod.Post, "memories", """{"messages":[{"role":"user","content":"x"}]}""");
        var missing = await SendAsync(http, HttpMethod.Delete, $"memories/{Guid.NewGuid()}");

        var added = Assert.Single(add.Body.GetProperty("results").EnumerateArray());
        Assert.Equal("ADD", added.GetProperty("event").GetString());
        Assert.Equal("I prefer email", added.GetProperty("memory").GetString());
        var results = search.Body.GetProperty("results");
        Assert.Equal(20, results.GetArrayLength());
        Assert.Equal("I prefer email", results[0].GetProperty("memory").GetString());
        Assert.Equal(20, list.Body.GetProperty("results").GetArrayLength());
        Assert.Equal(HttpStatusCode.BadRequest, noUser.Status);
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
    }

    [Fact]
    public async Task Server_delete_all_is_for_admins_only()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Server, new FakeMem0ServerOptions { AdminApiKey = "admin" });
        await using var fakeLifetime = fake;
        using var httpLifetime = http;
        using var admin = new HttpClient { BaseAddress = fake.BaseAddress };
        admin.DefaultRequestHeaders.Add("X-API-Key", "admin");
        fake.Seed("u1", "Fact");

        var asUser = await SendAsync(http, HttpMethod.Delete, "memories?user_id=u1");
        var asAdmin = await SendAsync(admin, HttpMethod.Delete, "memories?user_id=u1");

        Assert.Equal(HttpStatusCode.Forbidden, asUser.Status);
        Assert.Equal("All relevant memories deleted", asAdmin.Body.GetProperty("message").GetString());
        Assert.Empty(fake.MemoriesOf("u1"));
    }

    [Fact]
    public async Task Server_without_keys_is_open()
    {
        await using var fake = await FakeMem0Server.StartNewAsync(new FakeMem0ServerOptions { Flavor = Mem0Flavor.Server });
        using var http = new HttpClient { BaseAddress = fake.BaseAddress };

        var list = await SendAsync(http, HttpMethod.Get, "memories?user_id=u1");

        Assert.Equal(HttpStatusCode.OK, list.Status);
    }

    [Fact]
    public async Task Fault_plans_count_down_and_clear()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Server);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;
        const string search = """{"query":"x","filters":{"user_id":"u1"}}""";

        fake.SearchFaults.FailNext(2, FakeFault.WithStatus(502));
        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 3; i++)
        {
            statuses.Add((await SendAsync(http, HttpMethod.Post, "search", search)).Status);
        }
        fake.SearchFaults.FailAlways(FakeFault.ServerError);
        var always = await SendAsync(http, HttpMethod.Post, "search", search);
        var otherOperation = await SendAsync(http, HttpMethod.Get, "memories?user_id=u1");
        fake.SearchFaults.Clear();
        var cleared = await SendAsync(http, HttpMethod.Post, "search", search);
        fake.SearchFaults.FailFor(TimeSpan.FromMinutes(5), FakeFault.WithStatus(503));
        var windowed = await SendAsync(http, HttpMethod.Post, "search", search);

        Assert.Equal([HttpStatusCode.BadGateway, HttpStatusCode.BadGateway, HttpStatusCode.OK], statuses);
        Assert.Equal(HttpStatusCode.InternalServerError, always.Status);
        Assert.Equal(HttpStatusCode.OK, otherOperation.Status);
        Assert.Equal(HttpStatusCode.OK, cleared.Status);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, windowed.Status);
        Assert.Equal(4, fake.SearchFaults.Injected);
    }

    [Fact]
    public async Task A_disconnect_fault_drops_the_connection()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Platform);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;
        fake.FaultsFor(Mem0Operation.Search).FailNext(1, FakeFault.Disconnect);

        const string Search = """{"query":"x","filters":{"user_id":"u1"}}""";
        await Assert.ThrowsAsync<HttpRequestException>(() => http.PostAsync("v3/memories/search/", Json(Search)));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(http, HttpMethod.Post, "v3/memories/search/", Search)).Status);
    }

    [Fact]
    public async Task The_control_surface_configures_reports_and_resets()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Platform);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;

        var config = await SendAsync(http, HttpMethod.Post, "_fake/config",
            """{"latencyMs":{"search":7,"other":3},"processingDelayMs":0,"faults":[{"operation":"add","status":429,"count":1,"retryAfterSeconds":2}]}""");
        using var limited = await http.PostAsync("v3/memories/add/", Json("""{"messages":[{"role":"user","content":"Fact"}],"user_id":"u1"}"""));
        await SendAsync(http, HttpMethod.Post, "v3/memories/add/", """{"messages":[{"role":"user","content":"Fact"}],"user_id":"u1"}""");
        var stats = await SendAsync(http, HttpMethod.Get, "_fake/stats?users=true");

        Assert.Equal(HttpStatusCode.OK, config.Status);
        Assert.Equal(TimeSpan.FromMilliseconds(7), fake.SearchLatency);
        Assert.Equal(TimeSpan.FromMilliseconds(3), fake.LatencyFor(Mem0Operation.List).Value);
        Assert.Equal(TimeSpan.Zero, fake.AddLatency);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(2), limited.Headers.RetryAfter?.Delta);
        Assert.Equal(2, stats.Body.GetProperty("requests").GetProperty("add").GetInt32());
        Assert.Equal(1, stats.Body.GetProperty("addsCompleted").GetInt32());
        Assert.Equal(1, stats.Body.GetProperty("addsByUser").GetProperty("u1").GetInt32());
        Assert.Equal(1, stats.Body.GetProperty("faultsInjected").GetInt32());

        var bad = await SendAsync(http, HttpMethod.Post, "_fake/config", """{"faults":[{"operation":"nonsense"}]}""");
        var reset = await SendAsync(http, HttpMethod.Post, "_fake/reset");

        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
        Assert.Equal(HttpStatusCode.OK, reset.Status);
        Assert.Equal(0, fake.MemoryCount);
        Assert.Equal(0, fake.AddsCompleted);
        Assert.Equal(0, fake.Requests.Count);
    }

    [Fact]
    public async Task A_restarted_fake_keeps_its_port_and_its_memories()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Server);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;
        fake.Seed("u1", "Fact");
        string url = fake.BaseUrl;

        await fake.StopAsync();
        await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync("memories?user_id=u1"));
        await fake.StartAsync();

        Assert.Equal(url, fake.BaseUrl);
        Assert.Single((await SendAsync(http, HttpMethod.Get, "memories?user_id=u1")).Body.GetProperty("results").EnumerateArray());
    }

    [Fact]
    public async Task Concurrent_adds_are_all_counted_and_stored()
    {
        var (fake, http) = await StartAsync(Mem0Flavor.Platform);
        await using var fakeLifetime = fake;
        using var httpLifetime = http;

        await Parallel.ForEachAsync(Enumerable.Range(0, 200), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (i, ct) =>
        {
            using var response = await http.PostAsync("v3/memories/add/",
                Json($$"""{"messages":[{"role":"user","content":"Fact {{i}}"}],"user_id":"u{{i % 4}}"}"""), ct);
            response.EnsureSuccessStatusCode();
        });
        await fake.WaitForAddsAsync(200, WaitTimeout);

        Assert.Equal(200, fake.RequestCount(Mem0Operation.Add));
        Assert.Equal(200, fake.MemoryCount);
        Assert.All(Enumerable.Range(0, 4), u => Assert.Equal(50, fake.AddsFor($"u{u}")));
        Assert.Equal(200, fake.Requests.Count);
    }
}
