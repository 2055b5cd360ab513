using System.Collections.Concurrent;

namespace SupportAgent.Fakes;

/// <summary>
/// A thread-safe record of requests, oldest first. Bounded so a long benchmark cannot eat the machine's memory:
/// past <see cref="Capacity"/> the oldest entries are dropped (the fakes' counters still count every request).
/// </summary>
public sealed class RequestLog<T>(int capacity)
{
    private readonly ConcurrentQueue<T> _items = new();
    private int _count;

    public int Capacity { get; } = capacity;

    /// <summary>Set false to record nothing (counters still count), e.g. for a long benchmark.</summary>
    public bool Enabled { get; set; } = true;

    public int Count => Volatile.Read(ref _count);

    internal void Add(T item)
    {
        if (!Enabled || Capacity <= 0)
        {
            return;
        }
        _items.Enqueue(item);
        if (Interlocked.Increment(ref _count) > Capacity && _items.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    /// <summary>A snapshot, oldest first.</summary>
    public IReadOnlyList<T> ToList() => _items.ToArray();

    public void Clear()
    {
        while (_items.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }
}

/// <summary>
/// Lets tests wait for a condition on a fake without sleeping: every state change pulses the signal and the waiter
/// re-checks its condition, until it holds or the timeout passes.
/// </summary>
internal sealed class ChangeSignal
{
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Pulse() =>
        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits until <paramref name="condition"/> is true; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (true)
        {
            var changed = Volatile.Read(ref _changed).Task; // read before checking, so no pulse in between is missed
            if (condition())
            {
                return;
            }
            try
            {
                await changed.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (condition())
                {
                    return;
                }
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.###} s waiting for {what}.");
            }
        }
    }
}
