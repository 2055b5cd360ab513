using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SupportAgent.Fakes;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Tests.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Identity;

/// <summary>
/// AUTH_MODE=appservice through the self host: the user is the principal App Service Authentication forwards
/// (X-MS-CLIENT-PRINCIPAL), never a userId in the body, and each user sees and erases only their own memories.
/// </summary>
public sealed class AppServiceSignInTests
{
    // New users per test: the built-in store's table and the erasure record are shared by every test on the Azurite.
    private static readonly Guid Tenant = Guid.Parse("72f988bf-86f1-41af-91ab-2d7cd011db47");
    private readonly Guid _aliceOid = Guid.NewGuid();
    private readonly Guid _bobOid = Guid.NewGuid();

    private SignIn Alice => SignIn.EasyAuthEntra(Tenant, _aliceOid, "alice@example.com");

    private SignIn Bob => SignIn.EasyAuthEntra(Tenant, _bobOid, "bob@example.com");

    private string AliceId => SignedInUserId.ForEntra(Tenant, _aliceOid);

    private string BobId => SignedInUserId.ForEntra(Tenant, _bobOid);

    public static TheoryData<string> Backends() => ["platform", "server", "builtin"];

    private static Task<TestService> StartAsync(string backend = "platform", bool listener = true) => TestService.StartAsync(new TestServiceOptions
    {
        AuthMode = "appservice",
        Mem0Flavor = backend == "server" ? Mem0Flavor.Server : Mem0Flavor.Platform,
        BuiltInMemory = backend == "builtin",
        RunQueueListener = listener,
    });

    private static IMemoryStore Store(TestService app) => app.Services.GetRequiredService<IMemoryStore>();

    private static async Task<IReadOnlyList<MemoryItem>> RememberedAsync(TestService app, string userId, int atLeast) =>
        await Eventually.WaitFor(() => Store(app).ListAllAsync(userId), m => m.Count >= atLeast, TimeSpan.FromSeconds(30), $"{atLeast} memories of a user");

    private static async Task<JsonElement> ListAsync(TestService app, SignIn signIn, string query = "")
    {
        using var response = await app.SendAsMeAsync(HttpMethod.Get, "/api/me/memories" + query, signIn);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static string[] Texts(JsonElement list) =>
        list.GetProperty("memories").EnumerateArray().Select(m => m.GetProperty("memory").GetString()!).ToArray();

    [Fact]
    public async Task Two_signed_in_users_are_isolated_both_ways_and_a_body_userId_changes_nothing()
    {
        await using var app = await StartAsync();

        using (var alice = await app.PostMeChatAsync(Alice, "My order #1111 has not arrived"))
        {
            Assert.Equal(HttpStatusCode.OK, alice.StatusCode);
        }
        // Bob names Alice's id (and then a backend user's id) in the body: ignored, the write is Bob's.
        using (var bob = await app.PostMeChatAsync(Bob, "My order #2222 is broken", bodyUserId: AliceId))
        {
            Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
        }
        await RememberedAsync(app, AliceId, 1);
        await RememberedAsync(app, BobId, 1);

        Assert.Equal(["My order #1111 has not arrived"], Texts(await ListAsync(app, Alice)));
        Assert.Equal(["My order #2222 is broken"], Texts(await ListAsync(app, Bob)));

        // Recall follows the principal too: Bob asking as "Alice" (body) gets his own memories in the prompt, not hers.
        using (var bobAgain = await app.PostMeChatAsync(Bob, "Any news on my order?", bodyUserId: AliceId))
        {
            Assert.Equal(HttpStatusCode.OK, bobAgain.StatusCode);
        }
        string bobPrompt = app.Model.Requests.ToList()[^1].SystemPrompt!;
        Assert.Contains("#2222", bobPrompt);
        Assert.DoesNotContain("#1111", bobPrompt);

        using (var aliceAgain = await app.PostMeChatAsync(Alice, "Any news on my order?", bodyUserId: "user-002"))
        {
            Assert.Equal(HttpStatusCode.OK, aliceAgain.StatusCode);
        }
        string alicePrompt = app.Model.Requests.ToList()[^1].SystemPrompt!;
        Assert.Contains("#1111", alicePrompt);
        Assert.DoesNotContain("#2222", alicePrompt);

        // Mem0 only ever saw the two principals' ids: never a body id.
        Assert.All(app.Mem0.Requests.ToList().Where(r => r.UserId is not null), r => Assert.Contains(r.UserId, new[] { AliceId, BobId }));
    }

    [Fact]
    public async Task Me_chat_streams_like_api_chat_for_an_ai_sdk_client_that_sends_no_user_id()
    {
        await using var app = await StartAsync(listener: false);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/me/chat")
        {
            Content = JsonContent.Create(new
            {
                id = "chat-1",
                trigger = "submit-message",
                messages = new[] { new { id = "m1", role = "user", parts = new[] { new { type = "text", text = "My order #1234 is late" } } } },
            }),
        };
        request.Headers.Accept.ParseAdd("text/event-stream");
        Alice.Apply(request);

        using var response = await app.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        string stream = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("data: [DONE]", stream);
        var queued = TestService.ParseQueued(Assert.Single(await app.PeekQueuedAsync()));
        Assert.Equal(AliceId, queued.UserId);
        Assert.Equal("My order #1234 is late", queued.Messages![0].Content);
    }

    [Fact]
    public async Task A_backend_cannot_name_a_signed_in_user_on_api_chat()
    {
        await using var app = await StartAsync(listener: false);

        foreach (string reserved in new[] { AliceId, "idp:anything", "IDP:entra:x:y" })
        {
            using var response = await app.PostChatAsync(reserved, ("user", "show me what you remember"));
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("userId", problem.GetProperty("field").GetString());
        }
        Assert.Empty(app.Mem0.Requests.ToList());
        Assert.Empty(app.Model.Requests.ToList());
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task A_user_lists_pages_deletes_one_and_forgets_all_of_their_memories_and_no_one_elses(string backend)
    {
        await using var app = await StartAsync(backend);
        for (int i = 1; i <= 3; i++)
        {
            using var response = await app.PostMeChatAsync(Alice, $"Fact number {i} about my account");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await RememberedAsync(app, AliceId, i); // one at a time, so "newest first" has an order to check
        }
        using (var bob = await app.PostMeChatAsync(Bob, "Bob's own fact"))
        {
            Assert.Equal(HttpStatusCode.OK, bob.StatusCode);
        }
        string bobMemoryId = (await RememberedAsync(app, BobId, 1)).Single().Id;

        // Newest first, in pages of 2.
        var first = await ListAsync(app, Alice, "?pageSize=2");
        Assert.Equal(["Fact number 3 about my account", "Fact number 2 about my account"], Texts(first));
        string next = first.GetProperty("next").GetString()!;
        var second = await ListAsync(app, Alice, "?pageSize=2&next=" + Uri.EscapeDataString(next));
        Assert.Equal(["Fact number 1 about my account"], Texts(second));
        Assert.Equal(JsonValueKind.Null, second.GetProperty("next").ValueKind);
        var shown = first.GetProperty("memories")[0];
        Assert.False(string.IsNullOrEmpty(shown.GetProperty("id").GetString()));
        Assert.True(shown.GetProperty("createdAt").TryGetDateTimeOffset(out _));

        // Bob's memory id, asked for by Alice: 404, the same as an id that does not exist, and Bob keeps it.
        using (var notHers = await app.SendAsMeAsync(HttpMethod.Delete, $"/api/me/memories/{bobMemoryId}", Alice))
        {
            Assert.Equal(HttpStatusCode.NotFound, notHers.StatusCode);
            Assert.Equal("application/problem+json", notHers.Content.Headers.ContentType?.MediaType);
        }
        using (var unknown = await app.SendAsMeAsync(HttpMethod.Delete, $"/api/me/memories/{Guid.NewGuid()}", Alice))
        {
            Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        }
        Assert.Single(await Store(app).ListAllAsync(BobId));

        // Delete one of hers.
        string oldest = second.GetProperty("memories")[0].GetProperty("id").GetString()!;
        using (var deleted = await app.SendAsMeAsync(HttpMethod.Delete, $"/api/me/memories/{Uri.EscapeDataString(oldest)}", Alice))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        Assert.Equal(["Fact number 3 about my account", "Fact number 2 about my account"], Texts(await ListAsync(app, Alice)));

        // Forget everything about her: nothing left, Bob untouched.
        using (var forgotten = await app.SendAsMeAsync(HttpMethod.Delete, "/api/me/memories", Alice))
        {
            Assert.Equal(HttpStatusCode.NoContent, forgotten.StatusCode);
        }
        Assert.Empty(Texts(await ListAsync(app, Alice)));
        Assert.Empty(await Store(app).ListAllAsync(AliceId));
        Assert.Equal(["Bob's own fact"], Texts(await ListAsync(app, Bob)));
    }

    public static TheoryData<string, SignIn?> BadPrincipals() => new()
    {
        { "no principal at all", null },
        { "not Base64", SignIn.RawPrincipal("this is %% not base64!", "aad", "x") },
        { "Base64 of something that is not JSON", SignIn.RawPrincipal(SignIn.Base64Json("alice, trust me"), "aad", "x") },
        { "a JSON array", SignIn.RawPrincipal(SignIn.Base64Json("[1,2,3]"), "aad", "x") },
        { "no claims", SignIn.RawPrincipal(SignIn.Base64Json("""{"auth_typ":"aad","claims":[]}"""), "aad", "x") },
        { "claims that are not claims", SignIn.RawPrincipal(SignIn.Base64Json("""{"auth_typ":"aad","claims":[{"t":"oid"},42]}"""), "aad", "x") },
        { "no provider anywhere", SignIn.RawPrincipal(SignIn.Base64Json("""{"claims":[{"typ":"name","val":"x"}]}"""), null, "x") },
        { "provider header and principal disagree", SignIn.EasyAuth("github", "123", new Dictionary<string, string> { ["name"] = "x" }) with
            { Headers = new Dictionary<string, string>(SignIn.EasyAuth("github", "123", new Dictionary<string, string> { ["name"] = "x" }).Headers) { ["X-MS-CLIENT-PRINCIPAL-IDP"] = "aad" } } },
        { "Entra claims without a user id", SignIn.RawPrincipal(SignIn.Base64Json("""{"auth_typ":"aad","claims":[{"typ":"name","val":"x"}]}"""), "aad") },
        { "Static Web Apps shape without a user id", SignIn.RawPrincipal(SignIn.Base64Json("""{"identityProvider":"github","userDetails":"x"}""")) },
        { "a bearer token instead (not this mode's evidence)", SignIn.Bearer("eyJhbGciOiJSUzI1NiJ9.e30.c2ln") },
    };

    [Theory]
    [MemberData(nameof(BadPrincipals))]
    public async Task Missing_or_unreadable_principals_get_401_problems_on_every_me_route_and_reach_nothing(string why, SignIn? signIn)
    {
        await using var app = await StartAsync(listener: false);

        foreach (var (method, path) in MeRoutes)
        {
            using var response = await app.SendAsMeAsync(method, path, signIn,
                method == HttpMethod.Post ? new { messages = new[] { new { role = "user", content = "hi" } } } : null);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{why}: {method} {path} answered {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            string body = await response.Content.ReadAsStringAsync();
            Assert.Equal(401, JsonDocument.Parse(body).RootElement.GetProperty("status").GetInt32());
            Assert.DoesNotContain("   at ", body); // no stack trace
        }
        Assert.Empty(app.Mem0.Requests.ToList());
        Assert.Empty(app.Model.Requests.ToList());
        Assert.Empty(await app.PeekQueuedAsync());
    }

    [Fact]
    public async Task Other_easy_auth_providers_and_the_static_web_apps_shape_are_users_of_their_own()
    {
        await using var app = await StartAsync(listener: false);
        var github = SignIn.EasyAuth("github", "4242", new Dictionary<string, string> { ["urn:github:name"] = "octo" });
        var swa = SignIn.RawPrincipal(SignIn.Base64Json("""{"identityProvider":"github","userId":"abcd1234","userDetails":"octo","userRoles":["anonymous","authenticated"]}"""));

        string id = Guid.NewGuid().ToString("N");
        github = SignIn.EasyAuth("github", id, new Dictionary<string, string> { ["urn:github:name"] = "octo" });
        swa = SignIn.RawPrincipal(SignIn.Base64Json($$"""{"identityProvider":"GitHub","userId":"{{id}}","userDetails":"octo","userRoles":["anonymous","authenticated"]}"""));
        foreach (var (signIn, expected) in new[] { (github, $"idp:appservice:github:{id}"), (swa, $"idp:swa:github:{id}") })
        {
            app.Mem0.Seed(expected, "seeded for " + expected);
            var list = await ListAsync(app, signIn);
            Assert.Equal(["seeded for " + expected], Texts(list));
        }
    }

    [Fact]
    public async Task Without_sign_in_configured_the_me_routes_say_so_and_ignore_principal_headers()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions()); // AUTH_MODE=none

        foreach (var (method, path) in MeRoutes)
        {
            using var response = await app.SendAsMeAsync(method, path, Alice,
                method == HttpMethod.Post ? new { messages = new[] { new { role = "user", content = "hi" } } } : null);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("Sign-in is not configured.", problem.GetProperty("title").GetString());
        }
        Assert.Empty(app.Mem0.Requests.ToList());
    }

    private static readonly (HttpMethod, string)[] MeRoutes =
    [
        (HttpMethod.Post, "/api/me/chat"),
        (HttpMethod.Get, "/api/me/memories"),
        (HttpMethod.Delete, "/api/me/memories"),
        (HttpMethod.Delete, "/api/me/memories/3f0c5d3e-1c8f-4a53-b8a0-e6a1d1f5b7c2"),
    ];
}
