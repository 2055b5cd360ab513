using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary>
/// "Forget me" racing a write in progress, played step by step: fake time, and a store whose add of one exchange waits
/// until the test lets it land. The older write lands after the forget and must be deleted again, and only it: an
/// exchange made after the forget and written meanwhile stays.
/// </summary>
public sealed class ForgetRaceTests
{
    [Fact]
    public async Task A_write_landing_after_a_forget_deletes_only_what_the_forget_covers_not_an_exchange_made_after_it()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
        var store = new PausingStore();
        await using var app = await TestService.StartAsync(new TestServiceOptions
        {
            ConfigureServices = s => s.AddSingleton<TimeProvider>(clock).AddSingleton<IMemoryStore>(store),
        });
        string userId = "race-" + Guid.NewGuid().ToString("N"); // erasure records live in the storage account every test shares
        var writer = app.Services.GetRequiredService<MemoryWriter>();

        // 09:00:00 the old exchange is said; its write starts and stops inside the store's add.
        var old = Message("old", userId, clock.GetUtcNow(), "My order number is 1111.");
        store.Pause(old.Id);
        var oldWrite = writer.WriteAsync(Json(old), 1, CancellationToken.None);
        await store.Entered(old.Id).WaitAsync(TimeSpan.FromSeconds(60));

        // 09:00:01 the user is forgotten; 09:00:02 says something new, which is written at once.
        clock.Advance(TimeSpan.FromSeconds(1));
        await app.Services.GetRequiredService<UserMemories>().ForgetAsync(userId, CancellationToken.None);
        clock.Advance(TimeSpan.FromSeconds(1));
        var fresh = Message("fresh", userId, clock.GetUtcNow(), "My new order number is 2222.");
        await writer.WriteAsync(Json(fresh), 1, CancellationToken.None);
        Assert.Equal(["My new order number is 2222."], store.MemoriesOf(userId));

        // The old write lands now, after the forget: it is deleted again, and the new exchange stays.
        store.Resume(old.Id);
        await oldWrite.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(["My new order number is 2222."], store.MemoriesOf(userId));
    }

    private static string Json(MemoryWriteMessage message) => System.Text.Encoding.UTF8.GetString(message.ToUtf8Json());

    private static MemoryWriteMessage Message(string id, string userId, DateTimeOffset at, string text) =>
        new(MemoryWriteMessage.CurrentVersion, id + Guid.NewGuid().ToString("N")[..8], userId, at, [new ChatTurn(ChatTurn.User, text)]);

    /// <summary>An in-memory store, dated as every store dates (when said); its add of a paused exchange waits for <see cref="Resume"/>.</summary>
    private sealed class PausingStore : IMemoryStore
    {
        private readonly ConcurrentDictionary<string, List<MemoryItem>> _memories = new();
        private readonly ConcurrentDictionary<string, (TaskCompletionSource Entered, TaskCompletionSource Resume)> _paused = new();

        public void Pause(string exchangeId) => _paused[exchangeId] = (new(TaskCreationOptions.RunContinuationsAsynchronously), new(TaskCreationOptions.RunContinuationsAsynchronously));

        public Task Entered(string exchangeId) => _paused[exchangeId].Entered.Task;

        public void Resume(string exchangeId) => _paused[exchangeId].Resume.SetResult();

        public IReadOnlyList<string> MemoriesOf(string userId) => [.. List(userId).Select(m => m.Memory)];

        public async Task AddAsync(MemoryExchange exchange, CancellationToken cancellationToken)
        {
            if (_paused.TryGetValue(exchange.Id, out var pause))
            {
                pause.Entered.SetResult();
                await pause.Resume.Task.WaitAsync(cancellationToken);
            }
            lock (_memories)
            {
                var list = _memories.GetOrAdd(exchange.UserId, _ => []);
                list.AddRange(exchange.Turns.Where(t => t.Role == ChatTurn.User)
                    .Select((t, i) => new MemoryItem($"{exchange.Id}-{i}", t.Content, null, exchange.CreatedAt) { ExchangeId = exchange.Id }));
            }
        }

        public Task<MemoryPage> ListAsync(string userId, int pageSize, string? next, CancellationToken cancellationToken) =>
            Task.FromResult(new MemoryPage(List(userId), null));

        public Task<bool> DeleteAsync(string userId, string memoryId, CancellationToken cancellationToken)
        {
            lock (_memories)
            {
                return Task.FromResult(_memories.TryGetValue(userId, out var list) && list.RemoveAll(m => m.Id == memoryId) > 0);
            }
        }

        public Task DeleteAllAsync(string userId, CancellationToken cancellationToken)
        {
            lock (_memories)
            {
                _memories.TryRemove(userId, out _);
            }
            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<MemoryItem>>(List(userId));

        private List<MemoryItem> List(string userId)
        {
            lock (_memories)
            {
                return _memories.TryGetValue(userId, out var list) ? [.. list] : [];
            }
        }
    }
}
