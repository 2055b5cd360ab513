using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using SupportAgent.Functions.Chat;

namespace SupportAgent.Functions.Tests.Chat;

/// <summary>The idle limit between a model stream's updates, on fake time: no test here waits for a clock.</summary>
public sealed class StreamIdleLimitTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_stream_silent_for_the_limit_after_an_update_is_cancelled_and_ends_as_a_timeout()
    {
        var time = new FakeTimeProvider();
        var model = new StallingModel(updatesBeforeStall: 1);
        var updates = new StreamIdleLimit(model, Limit, time, NullLogger<StreamIdleLimit>.Instance)
            .GetStreamingResponseAsync("hi").GetAsyncEnumerator();

        Assert.True(await updates.MoveNextAsync());
        var next = updates.MoveNextAsync().AsTask();
        time.Advance(Limit - TimeSpan.FromSeconds(1));
        Assert.False(next.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        await Assert.ThrowsAsync<TimeoutException>(() => next);
        Assert.True(model.Cancelled);
    }

    [Fact]
    public async Task Until_the_first_update_the_limit_does_not_apply()
    {
        var time = new FakeTimeProvider();
        var model = new StallingModel(updatesBeforeStall: 0);
        var updates = new StreamIdleLimit(model, Limit, time, NullLogger<StreamIdleLimit>.Instance)
            .GetStreamingResponseAsync("hi").GetAsyncEnumerator();

        var first = updates.MoveNextAsync().AsTask();
        time.Advance(Limit * 3);

        Assert.False(first.IsCompleted); // the provider's own timeout covers the wait for its first byte
        Assert.False(model.Cancelled);
        model.Release();
        Assert.False(await first);
    }

    [Fact]
    public async Task Time_spent_by_the_reader_between_updates_does_not_count()
    {
        var time = new FakeTimeProvider();
        var model = new StallingModel(updatesBeforeStall: 2);
        var updates = new StreamIdleLimit(model, Limit, time, NullLogger<StreamIdleLimit>.Instance)
            .GetStreamingResponseAsync("hi").GetAsyncEnumerator();

        Assert.True(await updates.MoveNextAsync());
        time.Advance(Limit * 2); // the client is slow to take the next piece
        Assert.True(await updates.MoveNextAsync());
        Assert.False(model.Cancelled);
    }

    /// <summary>Sends some updates, then nothing until released (or cancelled).</summary>
    private sealed class StallingModel(int updatesBeforeStall) : IChatClient
    {
        private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool Cancelled { get; private set; }

        public void Release() => _release.TrySetResult();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            for (int i = 0; i < updatesBeforeStall; i++)
            {
                yield return new ChatResponseUpdate(ChatRole.Assistant, $"word{i} ");
            }
            try
            {
                await _release.Task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled = true;
                throw;
            }
        }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
