using System.Text;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary>
/// The queue-triggered writer's logic in process (<see cref="MemoryWriter"/> from the app's composition): what reaches
/// the store, what is dropped and why, and what throws so the queue retries. An in-memory store; the queue, its payload
/// blobs and the erasure records are Azurite's. The trigger itself (retries, poison) is tested under both hosts.
/// </summary>
public sealed class MemoryWriterTests : IDisposable
{
    private readonly InProcessApp _app = new();
    private readonly string _user = "user-" + Guid.NewGuid().ToString("N")[..8];

    public void Dispose() => _app.Dispose();

    private MemoryWriter Writer => _app.Get<MemoryWriter>();

    private MemoryWriteMessage Exchange(DateTimeOffset said, params string[] userTurns) =>
        new(MemoryWriteMessage.CurrentVersion, Guid.NewGuid().ToString("N"), _user, said,
            [.. userTurns.Select(t => new ChatTurn(ChatTurn.User, t)), new ChatTurn(ChatTurn.Assistant, "Noted.")]);

    private static string Json(MemoryWriteMessage message) => Encoding.UTF8.GetString(message.ToUtf8Json());

    [Fact]
    public async Task An_exchange_is_written_for_its_user_dated_when_it_was_said()
    {
        var said = _app.Time.GetUtcNow().AddMinutes(-5);
        var message = Exchange(said, "My order #1234 has not arrived.");

        await Writer.WriteAsync(Json(message), 1, CancellationToken.None);

        var added = Assert.Single(_app.Store.Added);
        Assert.Equal((message.Id, _user, said), (added.Id, added.UserId, added.CreatedAt));
        Assert.Equal(["My order #1234 has not arrived.", "Noted."], added.Turns.Select(t => t.Content));
        Assert.All(_app.Logs.GetSnapshot(), r => Assert.DoesNotContain("#1234", r.Message));
    }

    [Fact]
    public async Task An_exchange_said_before_the_user_asked_to_be_forgotten_is_never_written()
    {
        var said = _app.Time.GetUtcNow().AddMinutes(-5);
        await _app.Get<MemoryErasures>().RecordAsync(_user, _app.Time.GetUtcNow(), CancellationToken.None);

        await Writer.WriteAsync(Json(Exchange(said, "My address is 1 Main Street.")), 1, CancellationToken.None);

        Assert.Empty(_app.Store.Added);
        Assert.Empty(_app.Store.Of(_user));
    }

    [Fact]
    public async Task An_exchange_said_after_the_forget_is_written()
    {
        await _app.Get<MemoryErasures>().RecordAsync(_user, _app.Time.GetUtcNow().AddMinutes(-5), CancellationToken.None);

        await Writer.WriteAsync(Json(Exchange(_app.Time.GetUtcNow(), "I moved to Leeds.")), 1, CancellationToken.None);

        Assert.Single(_app.Store.Added);
    }

    [Theory]
    [InlineData("not json at all")]
    [InlineData("{\"v\":2,\"id\":\"x\",\"userId\":\"u\",\"createdAt\":\"2026-01-01T00:00:00Z\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")]
    [InlineData("{\"v\":1,\"id\":\"x\",\"createdAt\":\"2026-01-01T00:00:00Z\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")]
    [InlineData("{\"v\":1,\"id\":\"x\",\"userId\":\"u\",\"createdAt\":\"2026-01-01T00:00:00Z\",\"messages\":[]}")]
    [InlineData("null")]
    public async Task A_malformed_message_throws_for_the_poison_queue_and_is_logged_without_its_text(string message)
    {
        await Assert.ThrowsAsync<UnreadableMemoryWriteException>(() => Writer.WriteAsync(message, 1, CancellationToken.None));

        Assert.Empty(_app.Store.Added);
        Assert.Contains(_app.Logs.GetSnapshot(), r => r.Level == Microsoft.Extensions.Logging.LogLevel.Error && r.Message.Contains("could not be read", StringComparison.Ordinal));
        Assert.All(_app.Logs.GetSnapshot(), r => Assert.DoesNotContain("hi\"", r.Message));
    }

    [Fact]
    public async Task A_store_failure_throws_so_the_queue_delivers_the_message_again_and_then_it_is_written()
    {
        var message = Json(Exchange(_app.Time.GetUtcNow(), "Please call me back."));
        _app.Store.Failure = new MemoryStoreException("store down", 503, isTransient: true);

        await Assert.ThrowsAsync<MemoryStoreException>(() => Writer.WriteAsync(message, 1, CancellationToken.None));
        _app.Store.Failure = null;
        await Writer.WriteAsync(message, 2, CancellationToken.None);

        Assert.Single(_app.Store.Added);
    }

    [Fact]
    public async Task A_redelivered_claim_check_message_whose_payload_is_gone_completes_without_a_second_write()
    {
        var big = new string('x', 16_000);
        var sent = await _app.Get<MemoryWriteQueue>().EnqueueAsync(Exchange(_app.Time.GetUtcNow(), big, big, big, big), CancellationToken.None);
        Assert.NotNull(sent.PayloadBlob);

        await Writer.WriteAsync(Json(sent), 1, CancellationToken.None);
        await Writer.WriteAsync(Json(sent), 1, CancellationToken.None); // the queue delivers at least once

        Assert.Equal(5, Assert.Single(_app.Store.Added).Turns.Count);
        Assert.Equal(1, _app.Store.AddCalls); // the second delivery found the payload deleted after the write: not sent again
    }
}
