using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Storage;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Limits;

/// <summary>
/// A started limit check for one request. <see cref="Decision"/> completes when the request is admitted and throws
/// <see cref="LimitExceededException"/> when it is refused; it never fails for storage trouble (fail open).
/// <see cref="MayOverlap"/>: this instance's view of the user has room, so the caller may start the memory search while
/// the count is written; otherwise the decision is probably a refusal, and the caller waits for it before spending anything.
/// </summary>
public sealed class LimitCheck(bool mayOverlap, Task decision)
{
    public static readonly LimitCheck Off = new(true, Task.CompletedTask);

    public bool MayOverlap { get; } = mayOverlap;

    public Task Decision { get; } = decision;
}

/// <summary>
/// Per-user request rate (a fixed window per UTC minute) and daily token quota (per UTC day), shared by every instance
/// through <see cref="LimitCounters"/>: each admitted request is one conditional write of the user's row, so instances
/// admitting at the same time cannot both take the last slot (the loser reads again). Each instance keeps its last view
/// of each user: a request that view already refuses costs no storage call (counts only grow within a window), and a
/// request it admits costs one write. Windows are on <see cref="TimeProvider"/>. When storage fails, requests are admitted
/// (fail open, docs/limits.md) with one warning per change of state, and storage is tried again after a pause.
/// </summary>
public sealed partial class UserLimiter(
    LimitCounters counters,
    StorageClients storage,
    IOptions<LimitOptions> options,
    SupportAgentMetrics metrics,
    TimeProvider time,
    ILogger<UserLimiter> logger)
{
    /// <summary>The longest a request waits for its count before it is admitted unchecked: storage that hangs must not hold up every chat.</summary>
    private static readonly TimeSpan StorageBudget = TimeSpan.FromSeconds(3);

    /// <summary>After a storage failure, requests are admitted without trying storage for this long (then one tries again).</summary>
    internal static readonly TimeSpan StoragePause = TimeSpan.FromSeconds(15);

    private const int MaxAttempts = 20;
    private const int MaxViews = 10_000;

    private readonly LimitOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, UserView> _views = new(StringComparer.Ordinal);
    private long _storagePausedUntil; // UTC ticks
    private int _storageFailing;

    public bool Enabled => _options.Enabled;

    /// <summary>Starts the check of one request (counting it if admitted). Refusals the instance already knows of complete at once.</summary>
    public LimitCheck Check(string userId, CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return LimitCheck.Off;
        }
        string key = UserRef.Key(userId);
        var view = View(key);
        var now = time.GetUtcNow();
        bool mayOverlap;
        lock (view)
        {
            if (view.Known is { } known && Refusal(known.Counts, now, pending: 0) is { } certain)
            {
                Refused(certain, userId);
                return new LimitCheck(false, Task.FromException(certain));
            }
            mayOverlap = Refusal(view.Known?.Counts ?? LimitCounts.None, now, view.Pending) is null;
            view.Pending++;
        }
        return new LimitCheck(mayOverlap, DecideAsync(userId, key, view, cancellationToken));
    }

    /// <summary>Adds the tokens a reply used to the user's day (quota on only). Never throws: a failure is logged and the tokens go uncounted.</summary>
    public async Task RecordUsageAsync(string userId, long tokens)
    {
        if (_options.TokensPerDay <= 0 || tokens <= 0 || StoragePaused())
        {
            return;
        }
        string key = UserRef.Key(userId);
        var view = View(key);
        try
        {
            using var budget = new CancellationTokenSource(StorageBudget, time);
            await view.Gate.WaitAsync(budget.Token);
            try
            {
                for (int attempt = 0; attempt < MaxAttempts; attempt++)
                {
                    var read = view.Known ?? await counters.ReadAsync(key, budget.Token);
                    string day = Day(time.GetUtcNow());
                    var counts = read.Counts with { Day = day, Tokens = (read.Counts.Day == day ? read.Counts.Tokens : 0) + tokens };
                    view.Known = await counters.TryWriteAsync(key, read, counts, budget.Token);
                    if (view.Known is not null)
                    {
                        StorageWorks();
                        return;
                    }
                }
                LogContended(logger, UserRef.For(userId), MaxAttempts);
            }
            finally
            {
                view.Gate.Release();
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            StorageFailed(ex);
        }
    }

    /// <summary>Removes the user's counters ("forget me"), here and in storage; other instances' views of the user lapse with their windows.</summary>
    public async Task ForgetAsync(string userId, CancellationToken cancellationToken)
    {
        await counters.DeleteAsync(userId, cancellationToken);
        _views.TryRemove(UserRef.Key(userId), out _);
    }

    private async Task DecideAsync(string userId, string key, UserView view, CancellationToken cancellationToken)
    {
        try
        {
            if (StoragePaused())
            {
                metrics.LimitUnchecked();
                return;
            }
            using var timeout = new CancellationTokenSource(StorageBudget, time);
            using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
            // One request of a user at a time per instance: they would only conflict with each other's writes.
            await view.Gate.WaitAsync(budget.Token);
            try
            {
                for (int attempt = 0; attempt < MaxAttempts; attempt++)
                {
                    var read = view.Known ?? await counters.ReadAsync(key, budget.Token);
                    var now = time.GetUtcNow();
                    if (Refusal(read.Counts, now, pending: 0) is { } refusal)
                    {
                        view.Known = read;
                        StorageWorks();
                        Refused(refusal, userId);
                        throw refusal;
                    }
                    // Null when another request (another instance) wrote first: read again and decide on what it wrote.
                    view.Known = await counters.TryWriteAsync(key, read, Counted(read.Counts, now), budget.Token);
                    if (view.Known is not null)
                    {
                        StorageWorks();
                        return;
                    }
                }
                LogContended(logger, UserRef.For(userId), MaxAttempts);
                metrics.LimitUnchecked();
            }
            finally
            {
                view.Gate.Release();
            }
        }
        catch (Exception ex) when (ex is not (LimitExceededException or OutOfMemoryException) && !cancellationToken.IsCancellationRequested)
        {
            StorageFailed(ex);
            metrics.LimitUnchecked();
        }
        finally
        {
            lock (view)
            {
                view.Pending--;
            }
        }
    }

    /// <summary>Why these counts refuse one more request now (with <paramref name="pending"/> more already on their way), or null.</summary>
    private LimitExceededException? Refusal(LimitCounts counts, DateTimeOffset now, int pending)
    {
        if (_options.TokensPerDay > 0 && counts.Day == Day(now) && counts.Tokens >= _options.TokensPerDay)
        {
            var midnight = new DateTimeOffset(now.UtcDateTime.Date.AddDays(1), TimeSpan.Zero);
            return new LimitExceededException(LimitReasons.Quota, _options.TokensPerDay, midnight - now);
        }
        int requests = counts.Minute == Minute(now) ? counts.Requests : 0;
        if (_options.RequestsPerMinute > 0 && requests + pending >= _options.RequestsPerMinute)
        {
            var utc = now.UtcDateTime;
            var nextMinute = new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, utc.Minute, 0, TimeSpan.Zero).AddMinutes(1);
            return new LimitExceededException(LimitReasons.Rate, _options.RequestsPerMinute, nextMinute - now);
        }
        return null;
    }

    /// <summary>The counts with this request added; a new minute or day starts from zero.</summary>
    private static LimitCounts Counted(LimitCounts counts, DateTimeOffset now)
    {
        string minute = Minute(now), day = Day(now);
        return new LimitCounts(minute, (counts.Minute == minute ? counts.Requests : 0) + 1, day, counts.Day == day ? counts.Tokens : 0);
    }

    private static string Minute(DateTimeOffset now) => now.UtcDateTime.ToString("yyyyMMddHHmm", CultureInfo.InvariantCulture);

    private static string Day(DateTimeOffset now) => now.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    private UserView View(string key)
    {
        if (_views.TryGetValue(key, out var view))
        {
            return view;
        }
        if (_views.Count >= MaxViews)
        {
            _views.Clear(); // views are only a cache: the conditional writes keep the counts exact without them
        }
        return _views.GetOrAdd(key, _ => new UserView());
    }

    private void Refused(LimitExceededException refusal, string userId)
    {
        metrics.LimitRefused(refusal.Reason);
        if (logger.IsEnabled(LogLevel.Debug))
        {
            LogRefused(logger, UserRef.For(userId), refusal.Reason, refusal.RetryAfterSeconds);
        }
    }

    private bool StoragePaused() =>
        Volatile.Read(ref _storageFailing) == 1 && time.GetUtcNow().UtcTicks < Interlocked.Read(ref _storagePausedUntil);

    private void StorageFailed(Exception ex)
    {
        Interlocked.Exchange(ref _storagePausedUntil, (time.GetUtcNow() + StoragePause).UtcTicks);
        if (Interlocked.Exchange(ref _storageFailing, 1) == 0)
        {
            var endpoint = storage.Endpoints().Table ?? storage.Endpoints().Queue;
            LogStorageFailed(logger, StorageUnavailableException.From(ex, endpoint, storage.SettingName).Message, StoragePause.TotalSeconds);
        }
    }

    private void StorageWorks()
    {
        if (Interlocked.Exchange(ref _storageFailing, 0) == 1)
        {
            LogStorageBack(logger);
        }
    }

    /// <summary>This instance's last view of one user, and its requests still being decided.</summary>
    private sealed class UserView
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public StoredCounts? Known { get; set; }

        public int Pending { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Chat of {UserRef} refused by the {Reason} limit; retry after {RetryAfterSeconds} s")]
    private static partial void LogRefused(ILogger logger, string userRef, string reason, int retryAfterSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Per-user limits are not enforced: {Problem} Requests are admitted unchecked (fail open); storage is tried again every {PauseSeconds} s")]
    private static partial void LogStorageFailed(ILogger logger, string problem, double pauseSeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Per-user limits are enforced again: the storage account answers")]
    private static partial void LogStorageBack(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Counters of {UserRef} changed under {Attempts} writes in a row; this request was admitted unchecked")]
    private static partial void LogContended(ILogger logger, string userRef, int attempts);
}
