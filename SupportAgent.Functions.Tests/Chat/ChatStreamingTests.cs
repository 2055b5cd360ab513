using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SupportAgent.Fakes;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Chat;

/// <summary>
/// POST /api/chat as a stream in the Vercel AI SDK's UI message stream protocol, through the real self host over HTTP:
/// the events, flushing, errors before and after the first byte, the memory queue, and a client that hangs up.
/// </summary>
public sealed class ChatStreamingTests
{
    private const string Reply = "Your order #1234 left our warehouse yesterday and should arrive on Friday.";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task The_reply_streams_as_ui_message_events_with_memory_metadata_and_the_exchange_is_queued()
    {
        await using var app = await TestService.StartAsync();
        app.Mem0.Seed("user-001", "Order #1234 has not arrived after 10 days");
        app.Model.Responder = _ => Reply;

        using var response = await UiStream.PostAsync(app.Client, UiStream.Tutorial("user-001", ("user", "Any updates?")));
        var (events, done) = await UiStream.ReadAllAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.True(response.Headers.CacheControl?.NoCache, "Cache-Control: no-cache");
        Assert.Equal("v1", Assert.Single(response.Headers.GetValues("x-vercel-ai-ui-message-stream")));

        var types = events.Select(UiStream.Type).ToList();
        Assert.Equal(["start", "text-start"], types[..2]);
        Assert.Equal(["text-end", "finish"], types[^2..]);
        Assert.All(types[2..^2], t => Assert.Equal("text-delta", t));
        Assert.True(types.Count(t => t == "text-delta") > 1, "the reply came in one piece");
        Assert.True(done, "no data: [DONE] at the end");
        Assert.Equal(Reply, UiStream.Text(events));
        string textId = events[1].GetProperty("id").GetString()!;
        Assert.All(events.Where(e => UiStream.Type(e) is "text-delta" or "text-end"), e => Assert.Equal(textId, e.GetProperty("id").GetString()));

        Assert.Equal("stop", events[^1].GetProperty("finishReason").GetString());
        var metadata = events[^1].GetProperty("messageMetadata");
        Assert.True(metadata.GetProperty("usage").GetProperty("inputTokens").GetInt64() > 0);
        Assert.True(metadata.GetProperty("usage").GetProperty("outputTokens").GetInt64() > 0);
        Assert.Equal(1, metadata.GetProperty("memoriesUsed").GetInt32());
        Assert.Equal("ok", metadata.GetProperty("memory").GetString());
        Assert.True(metadata.GetProperty("memorySaved").GetBoolean());
        string exchangeId = metadata.GetProperty("exchangeId").GetString()!;
        Assert.Equal(exchangeId, events[0].GetProperty("messageId").GetString());
        Assert.Equal(1, events[0].GetProperty("messageMetadata").GetProperty("memoriesUsed").GetInt32()); // known before the reply

        var queued = TestService.ParseQueued(Assert.Single(await app.PeekQueuedAsync()));
        Assert.Equal(exchangeId, queued.Id);
        Assert.Equal([("user", "Any updates?"), ("assistant", Reply)], queued.Messages!.Select(m => (m.Role, m.Content)));
        Assert.True(Assert.Single(app.Model.Requests.ToList()).Stream);
    }

    [Fact]
    public async Task The_ai_sdk_request_shape_is_answered_with_a_stream_without_an_accept_header()
    {
        await using var app = await TestService.StartAsync();
        app.Model.Responder = _ => Reply;
        var body = new
        {
            id = "chat-7",
            userId = "user-001",
            trigger = "submit-message",
            messageId = (string?)null,
            messages = new object[]
            {
                new { id = "m1", role = "user", parts = new object[] { new { type = "text", text = "Hi, my order #1234" }, new { type = "text", text = "has not arrived." } } },
                new { id = "m2", role = "assistant", parts = new object[] { new { type = "step-start" }, new { type = "text", text = "Sorry! Let me check.", state = "done" } } },
                new { id = "m3", role = "user", parts = new object[] { new { type = "text", text = "Any updates?" } } },
            },
        };

        using var response = await UiStream.PostAsync(app.Client, body, accept: "");
        var (events, done) = await UiStream.ReadAllAsync(response);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.True(done);
        Assert.Equal(Reply, UiStream.Text(events));
        var sent = Assert.Single(app.Model.Requests.ToList()).Messages;
        Assert.Equal(["system", "user", "assistant", "user"], sent.Select(m => m.Role));
        Assert.Equal(["Hi, my order #1234\nhas not arrived.", "Sorry! Let me check.", "Any updates?"], sent.Skip(1).Select(m => m.Content));

        // The same body asking for JSON gets JSON.
        using var json = await UiStream.PostAsync(app.Client, body, accept: "application/json");
        Assert.Equal("application/json", json.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Reply, (await json.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("*/*")]
    [InlineData("application/json")]
    public async Task Without_asking_for_a_stream_the_tutorial_request_gets_json_as_before(string accept)
    {
        await using var app = await TestService.StartAsync();
        app.Model.Responder = _ => Reply;

        using var response = await UiStream.PostAsync(app.Client, UiStream.Tutorial("user-001", ("user", "Any updates?")), accept: accept);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(Reply, body.GetProperty("message").GetString());
        Assert.Equal(["message", "memoriesUsed", "memory", "memorySaved", "exchangeId", "usage"], body.EnumerateObject().Select(p => p.Name));
        // One path for both: the JSON reply is the model's stream gathered, with the usage the model reported.
        Assert.True(Assert.Single(app.Model.Requests.ToList()).Stream);
        Assert.True(body.GetProperty("usage").GetProperty("inputTokens").GetInt64() > 0);
        Assert.True(body.GetProperty("usage").GetProperty("outputTokens").GetInt64() > 0);
    }

    [Fact]
    public async Task Each_delta_reaches_the_client_while_the_model_is_still_writing()
    {
        await using var app = await TestService.StartAsync();
        app.Model.Responder = _ => Reply;
        app.Model.HoldStreamsAfter(2); // the model has written two words and waits

        using var response = await UiStream.PostAsync(app.Client, UiStream.Tutorial("user-001", ("user", "Any updates?")));
        using var reading = new CancellationTokenSource(Patience);
        var events = UiStream.EventsAsync(response, reading.Token).GetAsyncEnumerator(reading.Token);
        var deltas = new List<string>();
        while (deltas.Count < 2 && await events.MoveNextAsync())
        {
            var e = JsonDocument.Parse(events.Current).RootElement;
            if (UiStream.Type(e) == "text-delta")
            {
                deltas.Add(e.GetProperty("delta").GetString()!);
            }
        }

        // Both words are in the browser's hands while the rest does not exist yet: nothing on the way buffered them.
        Assert.Equal("Your order ", string.Concat(deltas));
        Assert.Empty(await app.PeekQueuedAsync()); // the exchange is queued once the reply is complete

        app.Model.ReleaseStreams();
        var rest = new List<string>();
        while (await events.MoveNextAsync())
        {
            rest.Add(events.Current);
        }
        await events.DisposeAsync();
        Assert.Equal("[DONE]", rest[^1]);
        Assert.Single(await app.PeekQueuedAsync());
    }

    [Theory]
    [InlineData(429, HttpStatusCode.ServiceUnavailable)]
    [InlineData(500, HttpStatusCode.BadGateway)]
    public async Task A_model_failure_before_the_first_byte_is_a_problem_response(int modelStatus, HttpStatusCode expected)
    {
        await using var app = await TestService.StartAsync();
        app.Model.Faults.FailAlways(modelStatus == 429 ? FakeFault.TooManyRequests(TimeSpan.FromSeconds(30)) : FakeFault.WithStatus(modelStatus));

        using var response = await UiStream.PostAsync(app.Client, UiStream.Tutorial("user-001", ("user", "Hello")));

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal((int)expected, problem.RootElement.GetProperty("status").GetInt32());
        if (modelStatus == 429)
        {
            Assert.Equal(TimeSpan.FromSeconds(30), response.Headers.RetryAfter?.Delta);
        }
        Assert.Empty(await app.PeekQueuedAsync());
    }

    [Fact]
    public async Task Bad_input_asking_for_a_stream_is_a_problem_response_naming_the_field()
    {
        await using var app = await TestService.StartAsync();

        using var response = await UiStream.PostAsync(app.Client, new { userId = "u1", messages = new[] { new { role = "system", content = "hi" } } });

        await ChatValidationTests.AssertProblem(response, HttpStatusCode.BadRequest, "messages[0].role", "system role, streamed");
        Assert.Equal(0, app.Model.RequestCount);
    }

    [Fact]
    public async Task A_model_failure_after_the_stream_began_is_an_error_event_then_the_end()
    {
        await using var app = await TestService.StartAsync();
        app.Model.Responder = _ => Reply;
        app.Model.HoldStreamsAfter(1);

        using var response = await UiStream.PostAsync(app.Client, UiStream.Tutorial("user-001", ("user", "Any updates?")));
        using var reading = new CancellationTokenSource(Patience);
        var events = new List<string>();
        await foreach (string data in UiStream.EventsAsync(response, reading.Token))
        {
            events.Add(data);
            if (data.Contains("\"text-delta\"", StringComparison.Ordinal))
            {
                app.Model.CutHeldStreams(); // the provider drops the connection mid-reply
            }
        }

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("[DONE]", events[^1]);
        var error = JsonDocument.Parse(events[^3]).RootElement;
        Assert.Equal("error", UiStream.Type(error));
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("errorText").GetString()));
        var finish = JsonDocument.Parse(events[^2]).RootElement; // as the AI SDK's own server ends a failed stream
        Assert.Equal("finish", UiStream.Type(finish));
        Assert.Equal("error", finish.GetProperty("finishReason").GetString());
        Assert.False(finish.GetProperty("messageMetadata").GetProperty("memorySaved").GetBoolean());
        Assert.Empty(await app.PeekQueuedAsync()); // the user was told, as with a failed JSON reply: nothing remembered
        Assert.Contains(app.Logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("stream of exchange"));
    }

    [Fact]
    public async Task A_client_hanging_up_mid_stream_cancels_the_model_call_and_its_own_turn_is_still_queued()
    {
        await using var app = await TestService.StartAsync();
        app.Model.Responder = _ => Reply;
        app.Model.HoldStreamsAfter(1);

        using (var response = await UiStream.PostAsync(app.Client, UiStream.Tutorial("user-001", ("user", "Hi, my order #1234 hasn't arrived"))))
        {
            using var reading = new CancellationTokenSource(Patience);
            await foreach (string data in UiStream.EventsAsync(response, reading.Token))
            {
                if (data.Contains("\"text-delta\"", StringComparison.Ordinal))
                {
                    break; // the user closes the tab after the first word
                }
            }
        }

        await app.Model.WaitForAbandonedAsync(1, Patience); // the model call was cancelled
        var queued = await Eventually.WaitFor(app.PeekQueuedAsync, q => q.Count > 0, Patience, "the user's turn on the queue");
        var message = TestService.ParseQueued(Assert.Single(queued));
        Assert.Equal([("user", "Hi, my order #1234 hasn't arrived")], message.Messages!.Select(m => (m.Role, m.Content)));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("1234", StringComparison.Ordinal));
        Assert.Contains(app.Logs.Lines, l => l.Contains(message.Id) && l.Contains("hung up"));
    }

    [Fact]
    public async Task A_client_hanging_up_before_a_json_reply_cancels_the_model_call_and_its_own_turn_is_still_queued()
    {
        await using var app = await TestService.StartAsync();
        app.Model.Latency = TimeSpan.FromMinutes(5);

        using var hangUp = new CancellationTokenSource();
        var call = app.Client.PostAsJsonAsync("/api/chat", UiStream.Tutorial("user-001", ("user", "Please call me back")), hangUp.Token);
        await app.Model.WaitForRequestsAsync(1, Patience);
        await hangUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

        await app.Model.WaitForAbandonedAsync(1, Patience);
        var queued = await Eventually.WaitFor(app.PeekQueuedAsync, q => q.Count > 0, Patience, "the user's turn on the queue");
        Assert.Equal([("user", "Please call me back")], TestService.ParseQueued(Assert.Single(queued)).Messages!.Select(m => (m.Role, m.Content)));
    }

    [Fact]
    public async Task A_reply_cut_by_the_output_limit_finishes_with_reason_length()
    {
        await using var app = await TestService.StartAsync();
        app.Model.Responder = _ => Reply;
        app.Model.FinishReason = "length";

        using var response = await UiStream.PostAsync(app.Client, UiStream.Tutorial("user-001", ("user", "Any updates?")));
        var (events, done) = await UiStream.ReadAllAsync(response);

        Assert.True(done);
        Assert.Equal("finish", UiStream.Type(events[^1]));
        Assert.Equal("length", events[^1].GetProperty("finishReason").GetString());
    }

    [Fact]
    public async Task A_model_stream_that_stops_sending_is_ended_after_MODEL_STREAM_IDLE_SECONDS_with_an_error_event()
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            Settings = new Dictionary<string, string?> { ["MODEL_STREAM_IDLE_SECONDS"] = "1" },
        });
        app.Model.Responder = _ => Reply;
        app.Model.HoldStreamsAfter(2); // the model writes two words, then nothing (until the test ends)

        using var response = await UiStream.PostAsync(app.Client, UiStream.Tutorial("user-001", ("user", "Any updates?")));
        using var reading = new CancellationTokenSource(Patience);
        var events = new List<string>();
        await foreach (string data in UiStream.EventsAsync(response, reading.Token))
        {
            events.Add(data);
        }

        Assert.Equal("[DONE]", events[^1]);
        var error = JsonDocument.Parse(events[^3]).RootElement;
        Assert.Equal("error", UiStream.Type(error));
        Assert.Contains("did not reply in time", error.GetProperty("errorText").GetString(), StringComparison.Ordinal);
        Assert.Equal("error", JsonDocument.Parse(events[^2]).RootElement.GetProperty("finishReason").GetString());
        Assert.Equal(2, events.Count(e => e.Contains("\"text-delta\"", StringComparison.Ordinal)));
        await app.Model.WaitForAbandonedAsync(1, Patience); // the stalled call was cancelled, not left open
        Assert.Contains(app.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("MODEL_STREAM_IDLE_SECONDS"));
        app.Model.ReleaseStreams();
    }
}
