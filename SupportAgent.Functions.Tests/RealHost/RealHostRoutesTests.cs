using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using SupportAgent.Fakes;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.RealHost;

/// <summary>
/// What only the real host decides about the HTTP routes: authorization levels and keys, route parameters, two
/// functions on one route told apart by method, the answers for routes and methods that do not exist, and a bearer
/// token passing the host's own request pipeline to the app (AUTH_MODE=jwt).
/// </summary>
[Collection(RealHostCollection.Name)]
public sealed class RealHostRoutesTests(RealHostFixture host)
{
    private const string HostKey = FunctionsHostProcess.HostKey;
    private const string ChatsOwnKey = FunctionsHostProcess.FunctionKey;

    /// <summary>A body the app refuses with 400 naming "messages": a request the app answered got past the host's key check.</summary>
    private static JsonContent Incomplete => JsonContent.Create(new { userId = "user-keys" });

    [RealHostFact]
    public async Task Chat_is_refused_by_the_host_without_a_valid_key_and_reaches_the_app_with_the_host_key_its_own_key_or_the_master_key()
    {
        foreach (string? key in new[] { null, "not-a-key" })
        {
            using var refused = await host.Client.SendAsync(FunctionsHostProcess.Request(HttpMethod.Post, "api/chat", key, Incomplete));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("", await refused.Content.ReadAsStringAsync()); // the host's answer: the app never saw it
        }

        foreach (string key in new[] { HostKey, ChatsOwnKey, FunctionsHostProcess.MasterKey })
        {
            using var answered = await host.Client.SendAsync(FunctionsHostProcess.Request(HttpMethod.Post, "api/chat", key, Incomplete));
            await AssertAppProblemAsync(answered, HttpStatusCode.BadRequest, "messages");
        }
        // The key as ?code=, as a browser-less client may send it.
        using var inQuery = await host.Client.PostAsync($"api/chat?code={ChatsOwnKey}", Incomplete);
        await AssertAppProblemAsync(inQuery, HttpStatusCode.BadRequest, "messages");

        // And a whole chat with Chat's own key.
        using var chat = await host.PostChatAsync("user-keys", "Hello", key: ChatsOwnKey);
        Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        Assert.Equal("ok", (await chat.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("memory").GetString());
    }

    [RealHostFact]
    public async Task The_operator_routes_need_a_key_and_a_key_of_another_function_does_not_open_them()
    {
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Delete })
        {
            foreach (string? key in new[] { null, ChatsOwnKey })
            {
                using var refused = await host.Client.SendAsync(FunctionsHostProcess.Request(method, "api/users/user-keys/memories", key));
                Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            }
        }
        using var listed = await host.Client.SendAsync(FunctionsHostProcess.Request(HttpMethod.Get, "api/users/user-keys/memories", HostKey));
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        using var forgotten = await host.Client.SendAsync(FunctionsHostProcess.Request(HttpMethod.Delete, "api/users/user-keys/memories", HostKey));
        Assert.Equal(HttpStatusCode.NoContent, forgotten.StatusCode);
    }

    [RealHostFact]
    public async Task A_route_parameter_reaches_the_app_decoded_and_GET_and_DELETE_on_one_route_are_two_functions()
    {
        const string userId = "Alice Smith@example.com";
        string path = $"api/users/{Uri.EscapeDataString(userId)}/memories";
        var seeded = host.Mem0.Seed(userId, "Prefers e-mail over phone calls");

        using var listed = await host.Client.SendAsync(FunctionsHostProcess.Request(HttpMethod.Get, path, HostKey));
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        var memory = Assert.Single((await listed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("memories").EnumerateArray());
        Assert.Equal(seeded.Id, memory.GetProperty("id").GetString());

        using var forgotten = await host.Client.SendAsync(FunctionsHostProcess.Request(HttpMethod.Delete, path, HostKey));
        Assert.Equal(HttpStatusCode.NoContent, forgotten.StatusCode);
        Assert.Empty(host.Mem0.MemoriesOf(userId));

        // The host ran the two functions the route maps, one per method.
        await host.Host.WaitForOutputAsync(l => l.Contains("Executed 'Functions.ListUserMemories' (Succeeded", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "ListUserMemories");
        await host.Host.WaitForOutputAsync(l => l.Contains("Executed 'Functions.ForgetUser' (Succeeded", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "ForgetUser");
    }

    [RealHostFact]
    public async Task A_signed_in_user_passes_the_host_with_a_bearer_token_and_manages_their_memories_by_method_and_id()
    {
        string subject = "user-" + Guid.NewGuid().ToString("N")[..8];
        string token = host.Issuer!.CreateToken(new TokenSpec { Subject = subject });

        // Anonymous at the host: without a token the app itself answers, as documented, and a function key signs nobody in.
        foreach (string? key in new[] { null, HostKey })
        {
            using var signedOut = await host.Client.SendAsync(FunctionsHostProcess.Request(HttpMethod.Get, "api/me/memories", key));
            await AssertAppProblemAsync(signedOut, HttpStatusCode.Unauthorized);
            Assert.Equal("Bearer", signedOut.Headers.WwwAuthenticate.ToString());
        }

        using (var chat = await Send(HttpMethod.Post, "api/me/chat", token, JsonContent.Create(new { messages = new[] { new { role = "user", content = "My order #1234 has not arrived" } } })))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }
        string memoryId = (await Eventually.WaitFor(async () => await ListAsync(token), m => m.Count == 1, TimeSpan.FromSeconds(60), "the chat's memory"))[0];

        // Same route, two functions: DELETE with an id (DeleteMyMemory, the id a route parameter), DELETE without (ForgetMe).
        using (var unknown = await Send(HttpMethod.Delete, "api/me/memories/no-such-memory", token))
        {
            await AssertAppProblemAsync(unknown, HttpStatusCode.NotFound);
        }
        using (var deleted = await Send(HttpMethod.Delete, $"api/me/memories/{Uri.EscapeDataString(memoryId)}", token))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }
        Assert.Empty(await ListAsync(token));
        using (var forgotten = await Send(HttpMethod.Delete, "api/me/memories", token))
        {
            Assert.Equal(HttpStatusCode.NoContent, forgotten.StatusCode);
        }
        foreach (string function in new[] { "MeChat", "ListMyMemories", "DeleteMyMemory", "ForgetMe" })
        {
            await host.Host.WaitForOutputAsync(l => l.Contains($"Executed 'Functions.{function}' (Succeeded", StringComparison.Ordinal), TimeSpan.FromSeconds(30), function);
        }

        // A bad token is the app's refusal too, with the reason in WWW-Authenticate: the host leaves Authorization alone.
        using var refused = await Send(HttpMethod.Get, "api/me/memories", "not-a-token");
        await AssertAppProblemAsync(refused, HttpStatusCode.Unauthorized);
        Assert.Contains("invalid_token", refused.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
    }

    [RealHostFact]
    public async Task A_route_or_method_that_does_not_exist_gets_the_hosts_own_empty_404()
    {
        foreach (var (method, path) in new[] { (HttpMethod.Get, "api/chat"), (HttpMethod.Put, "api/me/memories"), (HttpMethod.Get, "api/no-such-route") })
        {
            using var response = await host.Client.SendAsync(FunctionsHostProcess.Request(method, path, HostKey));
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} /{path}: {(int)response.StatusCode}");
            Assert.Equal("", await response.Content.ReadAsStringAsync());
        }
    }

    private Task<HttpResponseMessage> Send(HttpMethod method, string path, string token, HttpContent? content = null)
    {
        var request = FunctionsHostProcess.Request(method, path, key: null, content);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return host.Client.SendAsync(request);
    }

    private async Task<List<string>> ListAsync(string token)
    {
        using var response = await Send(HttpMethod.Get, "api/me/memories", token);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("memories").EnumerateArray()
            .Select(m => m.GetProperty("id").GetString()!).ToList();
    }

    /// <summary>The app's own answer (problem+json), not the host's: the request went through the host to the worker.</summary>
    internal static async Task AssertAppProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? field = null)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        if (field is not null)
        {
            Assert.Equal(field, JsonDocument.Parse(body).RootElement.GetProperty("field").GetString());
        }
    }
}
