using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// What a reply says about its exchange's memory: <c>true</c> (queued), <c>false</c> (could not be queued; logged), or
/// <c>"pending"</c>: storage was slow, so the reply did not wait; the enqueue finishes in the background.
/// </summary>
[JsonConverter(typeof(MemorySaveStateJsonConverter))]
public enum MemorySaveState
{
    NotSaved,
    Saved,
    Pending,
}

internal sealed class MemorySaveStateJsonConverter : JsonConverter<MemorySaveState>
{
    public override MemorySaveState Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.True => MemorySaveState.Saved,
        JsonTokenType.False => MemorySaveState.NotSaved,
        JsonTokenType.String when reader.ValueTextEquals("pending"u8) => MemorySaveState.Pending,
        _ => throw new JsonException("memorySaved is true, false or \"pending\"."),
    };

    public override void Write(Utf8JsonWriter writer, MemorySaveState value, JsonSerializerOptions options)
    {
        if (value == MemorySaveState.Pending)
        {
            writer.WriteStringValue("pending");
        }
        else
        {
            writer.WriteBooleanValue(value == MemorySaveState.Saved);
        }
    }
}

/// <summary>
/// Enqueues that outlived the reply's budget and finish in the background. The host waits for them when it stops
/// (within its shutdown window), so an exchange a reply called "pending" is not dropped by an ordinary stop.
/// </summary>
public sealed partial class PendingMemoryWrites(ILogger<PendingMemoryWrites> logger) : IHostedService
{
    private readonly ConcurrentDictionary<Task, bool> _pending = new();

    public int Count => _pending.Count;

    public void Track(Task enqueue)
    {
        _pending.TryAdd(enqueue, true);
        _ = enqueue.ContinueWith(t => _pending.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var waiting = _pending.Keys.ToArray();
        if (waiting.Length == 0)
        {
            return;
        }
        LogWaiting(logger, waiting.Length);
        // The enqueues never throw (they log their own failure); the host's shutdown token bounds the wait.
        await Task.WhenAll(waiting).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: waiting for {Count} exchanges still being queued for memory")]
    private static partial void LogWaiting(ILogger logger, int count);
}
