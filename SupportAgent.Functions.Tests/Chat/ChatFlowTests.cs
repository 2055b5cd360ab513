using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SupportAgent.Fakes;
using SupportAgent.Functions.Chat;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Chat;

/// <summary>The chat path end to end over real HTTP: memories in, reply out, one exchange on the real Azurite queue.</summary>
public sealed class ChatFlowTests
{
    private const string OrderMessage = "Hi, my order #1234 hasn't arrived. It's been 10 days";

    [Theory]
    [InlineData(Mem0Flavor.Platform)]
    [InlineData(Mem0Flavor.Server)]
    public async Task Memories_reach_the_system_prompt_and_the_reply_comes_back(Mem0Flavor flavor)
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { Mem0Flavor = flavor });
        app.Mem0.Seed("user-001", "Order #1234 has not arrived after 10 days");
        app.Mem0.Seed("user-001", "Prefers e-mail over phone");
        app.Mem0.Seed("user-002", "Lives in Oslo");
        app.Model.Responder = _ => "Your order #1234 is on its way.";

        using var response = await app.PostChatAsync("user-001", ("user", "Any updates?"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Your order #1234 is on its way.", body.GetProperty("message").GetString());
        Assert.Equal(2, body.GetProperty("memoriesUsed").GetInt32());
        Assert.Equal("ok", body.GetProperty("memory").GetString());

        var search = Assert.Single(app.Mem0.RequestsFor(Mem0Operation.Search));
        Assert.Equal("user-001", search.UserId);
        Assert.Equal("Any updates?", search.BodyJson().GetProperty("query").GetString());
        Assert.Equal(5, search.BodyJson().GetProperty("top_k").GetInt32());
        Assert.False(search.BodyJson().TryGetProperty("limit", out _));

        var completion = Assert.Single(app.Model.Requests.ToList());
        Assert.Equal("gpt-4o-mini", completion.Model);
        Assert.Equal("Bearer " + TestService.OpenAiKey, completion.Authorization);
        string prompt = completion.SystemPrompt!;
        Assert.Contains("Order #1234 has not arrived after 10 days", prompt);
        Assert.Contains("Prefers e-mail over phone", prompt);
        Assert.DoesNotContain("Oslo", prompt);
        Assert.StartsWith("You are a friendly, concise customer-support agent", prompt);
        Assert.Equal(["system", "user"], completion.Messages.Select(m => m.Role));
    }

    [Theory]
    [InlineData(Mem0Flavor.Platform)]
    [InlineData(Mem0Flavor.Server)]
    public async Task The_prompt_lists_memories_newest_first_each_dated_under_todays_date(Mem0Flavor flavor)
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { Mem0Flavor = flavor });
        app.Mem0.Seed("user-001", "Hi, my order #1234 has not arrived. It has been 10 days", saidAt: new DateTimeOffset(2026, 3, 1, 18, 0, 0, TimeSpan.Zero));
        app.Mem0.Seed("user-001", "Actually the order arrived yesterday, thanks! But the box was damaged.", saidAt: new DateTimeOffset(2026, 3, 11, 9, 0, 0, TimeSpan.Zero));
        app.Mem0.Seed("user-001", "I prefer email over phone.", saidAt: new DateTimeOffset(2026, 2, 20, 12, 0, 0, TimeSpan.Zero));
        var before = DateOnly.FromDateTime(DateTime.UtcNow);

        using var response = await app.PostChatAsync("user-001", ("user", "What's the status of my order?"));

        var after = DateOnly.FromDateTime(DateTime.UtcNow);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, body.GetProperty("memoriesUsed").GetInt32());
        string prompt = Assert.Single(app.Model.Requests.ToList()).SystemPrompt!;
        Assert.True(prompt.Contains($"Today's date is {before:yyyy-MM-dd}.") || prompt.Contains($"Today's date is {after:yyyy-MM-dd}."), prompt);
        Assert.Contains("the newer one replaces the older one", prompt);
        Assert.Equal(
            ["2026-03-11: Actually the order arrived yesterday, thanks! But the box was damaged.",
             "2026-03-01: Hi, my order #1234 has not arrived. It has been 10 days",
             "2026-02-20: I prefer email over phone."],
            FakeOpenAiServer.MemoryFacts(prompt));
        // The fake model answers with what it was told: the damaged box first, dated.
        Assert.StartsWith("I remember: 2026-03-11: Actually the order arrived yesterday", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Azure_OpenAI_deployment_route_is_used_when_configured()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { AzureModel = true });

        using var response = await app.PostChatAsync("user-001", ("user", "Hello"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var request = Assert.Single(app.Model.Requests.ToList());
        Assert.Equal(ChatRoute.Azure, request.Route);
        Assert.Equal("support-gpt", request.Deployment);
        Assert.Equal(TestService.OpenAiKey, request.ApiKey);
        Assert.False(string.IsNullOrEmpty(request.ApiVersion));
    }

    [Fact]
    public async Task Settings_change_top_k_the_model_and_the_instructions()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            Settings = new Dictionary<string, string?>
            {
                ["MEMORY_SEARCH_TOP_K"] = "3",
                ["OPENAI_MODEL"] = "my-model",
                ["SUPPORT_INSTRUCTIONS"] = "You are the Contoso help desk.",
            },
        });

        using var response = await app.PostChatAsync("u1", ("user", "Hello"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, Assert.Single(app.Mem0.RequestsFor(Mem0Operation.Search)).BodyJson().GetProperty("top_k").GetInt32());
        var completion = Assert.Single(app.Model.Requests.ToList());
        Assert.Equal("my-model", completion.Model);
        Assert.StartsWith("You are the Contoso help desk.", completion.SystemPrompt);
    }

    [Fact]
    public async Task Exactly_one_base64_message_with_only_the_new_exchange_lands_on_the_queue()
    {
        await using var app = await TestService.StartAsync();
        app.Model.Responder = _ => "Sorry to hear that! Let me check order #1234.";

        // The tutorial's frontend re-sends the whole history on every turn.
        using var response = await app.PostChatAsync("user-001",
            ("user", "Hello"),
            ("assistant", "Hi! How can I help?"),
            ("user", OrderMessage),
            ("user", "Can you check?"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(body.GetProperty("memorySaved").GetBoolean());

        var raw = (await app.RawQueue.PeekMessagesAsync(32)).Value;
        var queued = Assert.Single(raw);
        string json = Encoding.UTF8.GetString(Convert.FromBase64String(queued.Body.ToString())); // Base64, as the trigger expects
        var message = TestService.ParseQueued(json);
        Assert.Equal(1, message.Version);
        Assert.Equal("user-001", message.UserId);
        Assert.Equal(body.GetProperty("exchangeId").GetString(), message.Id);
        Assert.Null(message.PayloadBlob);
        Assert.Equal(
            [("user", OrderMessage), ("user", "Can you check?"), ("assistant", "Sorry to hear that! Let me check order #1234.")],
            message.Messages!.Select(m => (m.Role, m.Content)));
        Assert.InRange(message.CreatedAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));

        // The whole conversation still reached the model.
        var completion = Assert.Single(app.Model.Requests.ToList());
        Assert.Equal(["system", "user", "assistant", "user", "user"], completion.Messages.Select(m => m.Role));
    }

    [Fact]
    public async Task The_largest_accepted_input_stays_under_the_64_KiB_queue_limit_and_nothing_is_cut()
    {
        await using var app = await TestService.StartAsync();
        // 100 user turns of 16,000 characters, non-ASCII so JSON escaping is at its worst, then one that fits the prompt
        // budget on its own (the last message always goes to the model), and a long reply.
        string content = string.Concat(Enumerable.Repeat("ü<\"\n", 4_000));
        Assert.Equal(16_000, content.Length);
        const string last = "That is all, thanks.";
        var turns = Enumerable.Range(0, 100).Select(_ => ("user", content)).Append(("user", last)).ToArray();
        string reply = new('r', 20_000);
        app.Model.Responder = _ => reply;

        using var response = await app.PostChatAsync("user-big", turns);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var raw = Assert.Single((await app.RawQueue.PeekMessagesAsync(32)).Value);
        int base64Bytes = Encoding.UTF8.GetByteCount(raw.Body.ToString());
        Assert.True(base64Bytes <= 64 * 1024, $"queued message is {base64Bytes} bytes after Base64");

        // The exchange travels by claim check; the writer reads every character back and sends it to Mem0.
        string json = Encoding.UTF8.GetString(Convert.FromBase64String(raw.Body.ToString()));
        var message = TestService.ParseQueued(json);
        Assert.NotNull(message.PayloadBlob);
        var writer = ActivatorUtilities.CreateInstance<MemoryWriterFunction>(app.Services);
        await writer.Run(json, 1, CancellationToken.None);

        var add = Assert.Single(app.Mem0.RequestsFor(Mem0Operation.Add));
        var sent = add.BodyJson().GetProperty("messages").EnumerateArray().ToArray();
        Assert.Equal(102, sent.Length);
        Assert.All(sent[..100], m => Assert.Equal(content, m.GetProperty("content").GetString()));
        Assert.Equal(last, sent[100].GetProperty("content").GetString());
        Assert.Equal(reply, sent[101].GetProperty("content").GetString());
    }

    [Fact]
    public async Task Mem0_down_still_answers_without_memories()
    {
        await using var app = await TestService.StartAsync();
        await app.Mem0.StopAsync();

        using var response = await app.PostChatAsync("user-001", ("user", "Any updates?"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("unavailable", body.GetProperty("memory").GetString());
        Assert.Equal(0, body.GetProperty("memoriesUsed").GetInt32());
        Assert.Contains("Memory of earlier conversations is unavailable", Assert.Single(app.Model.Requests.ToList()).SystemPrompt);
        Assert.Single(await app.PeekQueuedAsync()); // the exchange is still queued for when memory is back
        Assert.Contains(app.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("replying without memories"));
    }

    [Fact]
    public async Task The_built_in_store_unreachable_still_answers_without_memories()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            BuiltInMemory = true,
            Settings = new Dictionary<string, string?> { ["AzureWebJobsStorage"] = UnreachableStorage() },
            StorageReachableAtStart = false,
        });

        using var response = await app.PostChatAsync("user-001", ("user", "Any updates?"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.NotEqual("ok", body.GetProperty("memory").GetString());
        Assert.False(body.GetProperty("memorySaved").GetBoolean());
    }

    // Ports nothing listens on: storage that refuses every connection (as if it went down after the start).
    private static string UnreachableStorage() =>
        Loopback.AzuriteConnectionString(Loopback.FreePort(), Loopback.FreePort(), Loopback.FreePort());

    [Fact]
    public async Task Mem0_errors_still_answer_without_memories()
    {
        await using var app = await TestService.StartAsync();
        app.Mem0.SearchFaults.FailAlways(FakeFault.ServerError);

        using var response = await app.PostChatAsync("user-001", ("user", "Any updates?"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("unavailable", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("memory").GetString());
        // One log line per attempt (1 + 2 quick retries), then the outcome once; no stack trace.
        Assert.Equal(3, app.Mem0.RequestCount(Mem0Operation.Search));
        Assert.Equal(2, app.Logs.Lines.Count(l => l.Contains("Mem0 search attempt") && l.Contains("(HTTP 500)")));
        Assert.Single(app.Logs.Lines, l => l.Contains("Memory search for") && l.Contains("failed"));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("   at ") || l.Contains("Polly"));
    }

    [Fact]
    public async Task Mem0_slower_than_the_budget_answers_within_the_budget_without_memories()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            Settings = new Dictionary<string, string?> { ["MEMORY_SEARCH_TIMEOUT_MS"] = "300" },
        });
        app.Mem0.SearchLatency = TimeSpan.FromSeconds(30);
        app.Mem0.Seed("user-001", "Order #1234 has not arrived");

        var clock = Stopwatch.StartNew();
        using var response = await app.PostChatAsync("user-001", ("user", "Any updates?"));
        clock.Stop();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("timeout", body.GetProperty("memory").GetString());
        Assert.DoesNotContain("1234", Assert.Single(app.Model.Requests.ToList()).SystemPrompt);
        // Not a benchmark: a search that hangs for 30 s must not hold the reply anywhere near that long.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"reply took {clock.Elapsed}");
    }

    [Theory]
    [InlineData(500, HttpStatusCode.BadGateway)]
    [InlineData(401, HttpStatusCode.BadGateway)]
    [InlineData(400, HttpStatusCode.BadGateway)]
    [InlineData(429, HttpStatusCode.ServiceUnavailable)]
    [InlineData(504, HttpStatusCode.GatewayTimeout)]
    public async Task Model_failure_is_an_honest_problem_response(int modelStatus, HttpStatusCode expected)
    {
        await using var app = await TestService.StartAsync();
        app.Model.Faults.FailAlways(modelStatus == 429 ? FakeFault.TooManyRequests(TimeSpan.FromSeconds(1)) : FakeFault.WithStatus(modelStatus));

        using var response = await app.PostChatAsync("user-001", ("user", "Hello"));

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        string text = await response.Content.ReadAsStringAsync();
        using var problem = JsonDocument.Parse(text);
        Assert.Equal((int)expected, problem.RootElement.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.RootElement.GetProperty("detail").GetString()));
        Assert.DoesNotContain("Exception", text);
        Assert.DoesNotContain("   at ", text);
        Assert.Empty(await app.PeekQueuedAsync()); // no reply, so no exchange to remember
        Assert.Contains(app.Logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("Chat model call failed"));
    }

    [Fact]
    public async Task A_long_model_rate_limit_is_not_waited_out_on_the_users_time()
    {
        await using var app = await TestService.StartAsync();
        app.Model.Faults.FailAlways(FakeFault.TooManyRequests(TimeSpan.FromSeconds(60)));

        var clock = Stopwatch.StartNew();
        using var response = await app.PostChatAsync("user-001", ("user", "Hello"));
        clock.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(60), response.Headers.RetryAfter?.Delta);
        Assert.Equal(1, app.Model.RequestCount); // no retry the provider said was pointless for a minute
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"reply took {clock.Elapsed}");
    }

    [Fact]
    public async Task Model_unreachable_is_503()
    {
        await using var app = await TestService.StartAsync();
        await app.Model.StopAsync();

        using var response = await app.PostChatAsync("user-001", ("user", "Hello"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Model_too_slow_is_504()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            Settings = new Dictionary<string, string?> { ["OPENAI_TIMEOUT_SECONDS"] = "1" },
        });
        app.Model.Latency = TimeSpan.FromSeconds(30);

        using var response = await app.PostChatAsync("user-001", ("user", "Hello"));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Queue_failure_still_replies_and_logs_the_exchange_id()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            // Storage that refuses connections: the reply must not depend on it.
            Settings = new Dictionary<string, string?> { ["AzureWebJobsStorage"] = UnreachableStorage() },
            StorageReachableAtStart = false,
        });

        using var response = await app.PostChatAsync("user-001", ("user", "Hello"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(body.GetProperty("memorySaved").GetBoolean());
        string exchangeId = body.GetProperty("exchangeId").GetString()!;
        Assert.Contains(app.Logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains(exchangeId));
    }

    [Fact]
    public async Task Logs_hold_ids_and_counts_but_no_message_text_user_id_or_secret()
    {
        await using var app = await TestService.StartAsync();
        app.Mem0.Seed("alice@example.com", "Alice's card ends in 4242");
        app.Model.Responder = _ => "Secret reply text about card 4242";

        using var ok = await app.PostChatAsync("alice@example.com", ("user", "My passport number is X1234567"));
        using var bad = await app.PostChatAsync("alice@example.com", ("assistant", "My passport number is X1234567"));
        await app.Mem0.StopAsync();
        using var degraded = await app.PostChatAsync("alice@example.com", ("user", "My passport number is X1234567"));

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Equal(HttpStatusCode.OK, degraded.StatusCode);
        var lines = app.Logs.Lines;
        Assert.NotEmpty(lines);
        foreach (var secret in new[] { "X1234567", "alice@example.com", "4242", "Secret reply", TestService.OpenAiKey, TestService.Mem0Key })
        {
            Assert.DoesNotContain(lines, l => l.Contains(secret, StringComparison.Ordinal));
        }
    }
}
