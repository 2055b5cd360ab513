using Microsoft.Extensions.AI;
using SupportAgent.Functions.Chat;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Chat;

/// <summary>
/// One chat turn's logic in process (<see cref="ChatService"/> from the app's composition): what reaches the model, the
/// events the caller sees, and what is queued for memory however the turn ends. A scripted model, an in-memory store,
/// fake time; the queue is Azurite's. HTTP mapping of the same outcomes is tested through the self host.
/// </summary>
public sealed class ChatServiceTests : IDisposable
{
    private const string Said = "Hi, my order #1234 has not arrived. It has been 10 days.";
    private readonly InProcessApp _app = new();
    private readonly string _user = "user-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => _app.Dispose();

    private ChatService Chat => _app.Get<ChatService>();

    private ChatRequest Request(string text = Said) => new(_user,
        [new ChatTurn(ChatTurn.User, "Hello"), new ChatTurn(ChatTurn.Assistant, "Hi! How can I help?"), new ChatTurn(ChatTurn.User, text)]);

    [Fact]
    public async Task The_users_memories_reach_the_prompt_newest_first_the_reply_streams_and_the_new_exchange_is_queued_once()
    {
        _app.Store.Remember(_user, "Order #1234 has not arrived", new DateTimeOffset(2026, 11, 20, 8, 0, 0, TimeSpan.Zero));
        _app.Store.Remember(_user, "Order #1234 arrived, box damaged", new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));
        _app.Store.Remember("someone-else", "Someone else's address is 1 Secret Lane", _app.Time.GetUtcNow());

        var events = await Chat.RunAsync(Request()).ToListAsync();

        var recalled = Assert.IsType<MemoriesRecalled>(events[0]);
        Assert.Equal((2, "ok"), (recalled.MemoriesUsed, recalled.Memory));
        Assert.Equal("Let me check order #1234.", string.Concat(events.OfType<ReplyDelta>().Select(d => d.Text)));
        Assert.Equal(new TurnCompleted("stop", new TokenUsage(120, 8), MemorySaved: MemorySaveState.Saved), events[^1]);

        var prompt = Assert.Single(_app.Model.Calls);
        string system = prompt[0].Text;
        Assert.Equal(ChatRole.System, prompt[0].Role);
        Assert.Contains("2026-12-01", system); // today, so "10 days" can be placed
        Assert.True(system.IndexOf("2026-11-30", StringComparison.Ordinal) < system.IndexOf("2026-11-20", StringComparison.Ordinal), "newest first");
        Assert.DoesNotContain("Secret Lane", system);
        Assert.Equal([ChatRole.User, ChatRole.Assistant, ChatRole.User], prompt.Skip(1).Select(m => m.Role));

        var queued = Assert.Single(await _app.QueuedAsync());
        Assert.Equal(recalled.ExchangeId, queued.Id);
        Assert.Equal(_user, queued.UserId);
        Assert.Equal(_app.Time.GetUtcNow(), queued.CreatedAt); // dated when the user said it
        Assert.Equal([(ChatTurn.User, Said), (ChatTurn.Assistant, "Let me check order #1234.")], queued.Messages!.Select(t => (t.Role, t.Content)));

        // Ids and counts only: no message text, memory or user id in any log line.
        Assert.All(_app.Logs.GetSnapshot(), r => Assert.DoesNotContain(_user, r.Message + r.Exception));
        Assert.All(_app.Logs.GetSnapshot(), r => Assert.DoesNotContain("#1234", r.Message));
    }

    [Fact]
    public async Task The_json_reply_is_the_same_turn_gathered()
    {
        var reply = await Chat.RunAsync(Request()).ToReplyAsync();

        Assert.Equal("Let me check order #1234.", reply.Message);
        Assert.Equal((0, "ok", MemorySaveState.Saved), (reply.MemoriesUsed, reply.Memory, reply.MemorySaved));
        Assert.Equal(new TokenUsage(120, 8), reply.Usage);
        Assert.Equal(reply.ExchangeId, Assert.Single(await _app.QueuedAsync()).Id);
    }

    [Fact]
    public async Task A_failing_memory_store_still_answers_without_memories_and_still_queues_the_exchange()
    {
        _app.Store.Remember(_user, "Order #1234 has not arrived", _app.Time.GetUtcNow());
        _app.Store.Failure = new MemoryStoreException("store down", 503, isTransient: true);

        var events = await Chat.RunAsync(Request()).ToListAsync();

        Assert.Equal((0, "unavailable"), (((MemoriesRecalled)events[0]).MemoriesUsed, ((MemoriesRecalled)events[0]).Memory));
        Assert.DoesNotContain("Order #1234 has not arrived", Assert.Single(_app.Model.Calls)[0].Text);
        Assert.Equal(MemorySaveState.Saved, ((TurnCompleted)events[^1]).MemorySaved);
        Assert.Single(await _app.QueuedAsync());
    }

    [Fact]
    public async Task A_reply_cut_by_the_output_limit_finishes_with_length()
    {
        _app.Model.Finish = ChatFinishReason.Length;
        _app.Model.Usage = null;

        var done = (TurnCompleted)(await Chat.RunAsync(Request()).ToListAsync())[^1];

        Assert.Equal(("length", null), (done.FinishReason, done.Usage));
    }

    [Fact]
    public async Task A_model_failure_before_its_first_text_reaches_the_caller_before_any_event_and_nothing_is_queued()
    {
        _app.Model.Failure = (0, new InvalidOperationException("model down"));

        await using var turn = Chat.RunAsync(Request()).GetAsyncEnumerator();

        await Assert.ThrowsAsync<InvalidOperationException>(async () => await turn.MoveNextAsync());
        Assert.Empty(await _app.QueuedAsync()); // the client is told and can send it again
    }

    [Fact]
    public async Task A_model_failure_mid_reply_ends_the_turn_with_the_failure_and_nothing_is_queued()
    {
        _app.Model.Failure = (2, new InvalidOperationException("model broke"));
        var seen = new List<ChatTurnEvent>();

        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
        {
            await foreach (var e in Chat.RunAsync(Request()))
            {
                seen.Add(e);
            }
        });

        Assert.Equal(2, seen.OfType<ReplyDelta>().Count());
        Assert.DoesNotContain(seen, e => e is TurnCompleted);
        Assert.Empty(await _app.QueuedAsync());
    }

    [Fact]
    public async Task A_caller_that_cancels_mid_reply_cancels_the_model_call_and_the_users_own_turn_is_still_queued()
    {
        _app.Model.StallAfter = 1;
        using var callerGone = new CancellationTokenSource();
        await using var turn = Chat.RunAsync(Request(), callerGone.Token).GetAsyncEnumerator();
        Assert.True(await turn.MoveNextAsync()); // memories
        Assert.True(await turn.MoveNextAsync()); // the first piece

        var next = turn.MoveNextAsync().AsTask(); // the model sends nothing more
        await callerGone.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => next);
        Assert.True(_app.Model.SawCancellation);
        var queued = Assert.Single(await _app.QueuedAsync());
        Assert.Equal([(ChatTurn.User, Said)], queued.Messages!.Select(t => (t.Role, t.Content))); // no half reply
    }

    [Fact]
    public async Task A_caller_that_stops_reading_between_pieces_still_has_the_users_own_turn_queued()
    {
        await using (var turn = Chat.RunAsync(Request()).GetAsyncEnumerator())
        {
            Assert.True(await turn.MoveNextAsync());
            Assert.True(await turn.MoveNextAsync());
        }

        var queued = Assert.Single(await _app.QueuedAsync());
        Assert.Equal([ChatTurn.User], queued.Messages!.Select(t => t.Role));
    }

    [Fact]
    public async Task Storage_refusing_connections_still_answers_and_says_the_exchange_was_not_saved()
    {
        // An account whose endpoints nothing listens on: the enqueue fails fast after the client's few retries.
        using var app = new InProcessApp(storageConnectionString:
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
            "QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1");

        var reply = await app.Get<ChatService>().RunAsync(Request()).ToReplyAsync();

        Assert.Equal("Let me check order #1234.", reply.Message);
        Assert.Equal(MemorySaveState.NotSaved, reply.MemorySaved);
        Assert.Contains(app.Logs.GetSnapshot(), r => r.Message.Contains(reply.ExchangeId, StringComparison.Ordinal));
    }
}
