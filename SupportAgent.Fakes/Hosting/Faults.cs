using System.Diagnostics;

namespace SupportAgent.Fakes;

public enum FakeFaultKind
{
    /// <summary>Answer with <see cref="FakeFault.Status"/> (and Retry-After / body when given).</summary>
    Respond,

    /// <summary>Say nothing until the client gives up or the server stops (longer than any client timeout).</summary>
    Hang,

    /// <summary>Drop the connection without an answer (the client sees a reset / "could not reach").</summary>
    Disconnect,
}

/// <summary>What a failing request gets instead of its normal answer.</summary>
public sealed record FakeFault
{
    public FakeFaultKind Kind { get; init; } = FakeFaultKind.Respond;

    public int Status { get; init; } = 500;

    /// <summary>Sent as <c>Retry-After: &lt;whole seconds&gt;</c> when set.</summary>
    public TimeSpan? RetryAfter { get; init; }

    /// <summary>Raw JSON body; when null the fake writes its API's usual error body for <see cref="Status"/>.</summary>
    public string? Body { get; init; }

    /// <summary>For <see cref="FakeFaultKind.Hang"/>: how long to hang (default 10 minutes).</summary>
    public TimeSpan? HangFor { get; init; }

    public static FakeFault WithStatus(int status, string? body = null) => new() { Status = status, Body = body };

    public static FakeFault ServerError => new() { Status = 500 };

    public static FakeFault TooManyRequests(TimeSpan? retryAfter = null) => new() { Status = 429, RetryAfter = retryAfter };

    public static FakeFault Unauthorized => new() { Status = 401 };

    public static FakeFault Hang(TimeSpan? hangFor = null) => new() { Kind = FakeFaultKind.Hang, Status = 0, HangFor = hangFor };

    public static FakeFault Disconnect => new() { Kind = FakeFaultKind.Disconnect, Status = 0 };
}

/// <summary>
/// Fault injection for one operation, settable at run time from any thread. One plan is active at a time:
/// the next N requests, a time window, or until <see cref="Clear"/>. Setting a plan replaces the previous one.
/// </summary>
public sealed class FaultInjector
{
    private readonly Lock _lock = new();
    private FakeFault? _fault;      // null: no plan (fast path reads it without the lock)
    private int _remaining;         // -1: unlimited
    private long _untilTimestamp;   // 0: no deadline
    private int _injected;

    /// <summary>Fails the next <paramref name="count"/> requests, then answers normally again.</summary>
    public void FailNext(int count, FakeFault fault)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        Set(fault, count, 0);
    }

    /// <summary>Fails every request for the given time from now.</summary>
    public void FailFor(TimeSpan window, FakeFault fault)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        Set(fault, -1, Stopwatch.GetTimestamp() + (long)(window.TotalSeconds * Stopwatch.Frequency));
    }

    /// <summary>Fails every request until <see cref="Clear"/>.</summary>
    public void FailAlways(FakeFault fault) => Set(fault, -1, 0);

    public void Clear()
    {
        lock (_lock)
        {
            Volatile.Write(ref _fault, null);
        }
    }

    /// <summary>Whether a plan is in force right now.</summary>
    public bool IsActive
    {
        get
        {
            lock (_lock)
            {
                return Current() is not null;
            }
        }
    }

    /// <summary>How many requests this injector has failed so far.</summary>
    public int Injected => Volatile.Read(ref _injected);

    internal void ResetCount()
    {
        lock (_lock)
        {
            _injected = 0;
        }
    }

    /// <summary>The fault for this request, if any; consumes one of a counted plan.</summary>
    internal FakeFault? TryTake()
    {
        if (Volatile.Read(ref _fault) is null)
        {
            return null;
        }
        lock (_lock)
        {
            var fault = Current();
            if (fault is null)
            {
                return null;
            }
            if (_remaining > 0 && --_remaining == 0)
            {
                Volatile.Write(ref _fault, null);
            }
            _injected++;
            return fault;
        }
    }

    private FakeFault? Current()
    {
        if (_fault is null)
        {
            return null;
        }
        if (_untilTimestamp != 0 && Stopwatch.GetTimestamp() >= _untilTimestamp)
        {
            Volatile.Write(ref _fault, null);
            return null;
        }
        return _fault;
    }

    private void Set(FakeFault fault, int remaining, long until)
    {
        ArgumentNullException.ThrowIfNull(fault);
        lock (_lock)
        {
            _remaining = remaining;
            _untilTimestamp = until;
            Volatile.Write(ref _fault, fault);
        }
    }
}

/// <summary>A latency setting readable and writable from any thread.</summary>
public sealed class LatencySetting
{
    private long _ticks;

    public TimeSpan Value
    {
        get => TimeSpan.FromTicks(Volatile.Read(ref _ticks));
        set => Volatile.Write(ref _ticks, Math.Max(0, value.Ticks));
    }
}
