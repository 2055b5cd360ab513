using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SupportAgent.Fakes;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Chat;

/// <summary>
/// Long conversations resent whole every turn (as the tutorial's page and useChat send them), through the self host,
/// against a fake model that enforces a context window and answers OpenAI's real context_length_exceeded past it.
/// </summary>
public sealed class LongConversationTests
{
    private const int Window = 4_096;

    private static JsonElement Problem(HttpResponseMessage response)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return response.Content.ReadFromJsonAsync<JsonElement>().GetAwaiter().GetResult();
    }

    [Fact]
    public async Task A_150_turn_conversation_gets_150_answers_within_the_window_and_turn_1_is_answered_from_memory()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            RunQueueListener = true,
            Settings = new Dictionary<string, string?>
            {
                ["MODEL_CONTEXT_TOKENS"] = Window.ToString(),
                ["PROMPT_TOKEN_BUDGET"] = "1500",
                ["MAX_OUTPUT_TOKENS"] = "512",
            },
        });
        app.Model.ContextWindowTokens = Window;
        app.Model.Responder = _ => "Thanks, noted. Anything else about the shipment?"; // says nothing of turn 1
        const string user = "long-chat-user";
        var conversation = new List<(string Role, string Content)>();

        async Task<JsonElement> TurnAsync(string text)
        {
            conversation.Add(("user", text));
            using var response = await app.PostChatAsync(user, [.. conversation]);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"turn {conversation.Count / 2 + 1}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            conversation.Add(("assistant", body.GetProperty("message").GetString()!));
            return body;
        }

        await TurnAsync("My loyalty card number is LC-4711.");
        for (int turn = 2; turn < 150; turn++)
        {
            await TurnAsync($"Question {turn}: how long does shipping to Oslo take for parcel {turn}?");
        }
        // Turn 1 left the window long ago; it is in memory once the queue's writer has stored it.
        await Eventually.WaitFor(() => app.Mem0.MemoriesOf(user).Any(m => m.Text.Contains("LC-4711", StringComparison.Ordinal)),
            Eventually.Generous, "turn 1 in memory");
        app.Model.Responder = FakeOpenAiServer.DefaultReply; // repeats what the model was told about the user
        var last = await TurnAsync("What is my loyalty card number?");

        Assert.Equal(300, conversation.Count);
        var requests = app.Model.Requests.ToList();
        Assert.Equal(150, requests.Count);
        Assert.Equal(0, app.Model.ContextRejections);
        Assert.All(requests, r =>
        {
            Assert.Equal(512, r.MaxOutputTokens);
            Assert.InRange(r.PromptTokens, 1, 1_500);
            Assert.True(r.PromptTokens + r.MaxOutputTokens <= Window);
        });
        // The prompt stops growing once the budget is full: the last 50 turns all sent far less than the whole history.
        Assert.All(requests.TakeLast(50), r => Assert.InRange(r.Messages.Count, 10, 100));
        var final = requests[^1];
        Assert.Equal("What is my loyalty card number?", final.LastUserMessage);
        Assert.DoesNotContain(final.Messages.Where(m => m.Role != "system"), m => m.Content!.Contains("LC-4711", StringComparison.Ordinal));
        Assert.Contains("LC-4711", final.SystemPrompt);
        Assert.Contains("LC-4711", last.GetProperty("message").GetString());
        // The usage reported is the fake's real token count of what was sent.
        Assert.Equal(final.PromptTokens, last.GetProperty("usage").GetProperty("inputTokens").GetInt32());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_last_message_too_long_for_the_budget_alone_is_a_400_naming_it_before_any_memory_or_model_call(bool stream)
    {
        await using var app = await TestService.StartAsync();
        string huge = string.Join(' ', Enumerable.Repeat("word", 3_200)); // 16,000 characters, 3,200 tokens: over a 3,000-token budget
        var body = UiStream.Tutorial("u1", ("user", "hi"), ("assistant", "hello"), ("user", huge));

        using var response = stream ? await UiStream.PostAsync(app.Client, body) : await app.Client.PostAsJsonAsync("/api/chat", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = Problem(response);
        Assert.Equal("messages[2].content", problem.GetProperty("field").GetString());
        string detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("3200 tokens", detail);
        Assert.Matches(@"at most \d+ tokens", detail);
        Assert.Equal(0, app.Model.RequestCount);
        Assert.Equal(0, app.Mem0.RequestCount(Mem0Operation.Search));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_model_with_a_smaller_window_than_the_settings_say_is_a_400_naming_MODEL_CONTEXT_TOKENS_logged_once(bool stream)
    {
        await using var app = await TestService.StartAsync(); // gpt-4o-mini: the settings say 128,000
        app.Model.ContextWindowTokens = 1_500;
        string secret = "Secret-" + Guid.NewGuid().ToString("N");
        string longMessage = secret + " " + string.Join(' ', Enumerable.Repeat("word", 1_600));
        var body = UiStream.Tutorial("u1", ("user", longMessage));

        using var response = stream ? await UiStream.PostAsync(app.Client, body) : await app.Client.PostAsJsonAsync("/api/chat", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = Problem(response);
        Assert.Equal("MODEL_CONTEXT_TOKENS", problem.GetProperty("field").GetString());
        Assert.Contains("1500 tokens", problem.GetProperty("detail").GetString());
        Assert.Equal(1, app.Model.ContextRejections);
        var request = Assert.Single(app.Model.Requests.ToList());
        var lines = app.Logs.Lines.Where(l => l.Contains("context window", StringComparison.Ordinal)).ToList();
        string line = Assert.Single(lines);
        Assert.Contains($"we sent {request.PromptTokens} prompt tokens + 1024 output with MODEL_CONTEXT_TOKENS 128000", line);
        Assert.Contains($"window is 1500 and counted {request.PromptTokens + 1024}", line);
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Usage_is_the_models_count_in_the_JSON_reply_and_the_streams_finish_and_the_output_limit_is_sent()
    {
        await using var app = await TestService.StartAsync();

        using var json = await app.PostChatAsync("u1", ("user", "Where is my parcel?"));
        var body = await json.Content.ReadFromJsonAsync<JsonElement>();
        using var streamed = await UiStream.PostAsync(app.Client, UiStream.Tutorial("u1", ("user", "And my refund?")));
        var (events, done) = await UiStream.ReadAllAsync(streamed);

        var requests = app.Model.Requests.ToList();
        Assert.Equal(2, requests.Count);
        Assert.All(requests, r => Assert.Equal(1_024, r.MaxOutputTokens));
        var usage = body.GetProperty("usage");
        Assert.Equal(requests[0].PromptTokens, usage.GetProperty("inputTokens").GetInt32());
        Assert.Equal(FakeTokenCounter.Count(body.GetProperty("message").GetString()), usage.GetProperty("outputTokens").GetInt32());
        Assert.True(done);
        var finishUsage = events[^1].GetProperty("messageMetadata").GetProperty("usage");
        Assert.Equal(requests[1].PromptTokens, finishUsage.GetProperty("inputTokens").GetInt32());
        Assert.Equal(FakeTokenCounter.Count(UiStream.Text(events)), finishUsage.GetProperty("outputTokens").GetInt32());
    }
}
