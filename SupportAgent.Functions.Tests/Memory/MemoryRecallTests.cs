using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.BuiltIn;
using SupportAgent.Functions.Storage;
using SupportAgent.Functions.Telemetry;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary>
/// The chat path's search on a new instance, whose embedding model is still loading: it waits for the model within a
/// start-up allowance of its own and only then spends its budget. Time is fake and the model's load is held by the
/// test, so nothing here depends on how fast or busy the machine is.
/// </summary>
public sealed class MemoryRecallTests : IDisposable
{
    private readonly string _user = "cold-" + Guid.NewGuid().ToString("N")[..8];
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 9, 0, 0, TimeSpan.Zero));
    private readonly FakeLogger<MemoryRecall> _log = new();
    private readonly ModelLoadGate _loading = new();
    private readonly MemoryRecall _recall;

    public MemoryRecallTests()
    {
        var store = new BuiltInMemoryStore(new StorageClients(Options.Create(new StorageOptions { ConnectionString = Azurite.Instance.ConnectionString })),
            _loading.Model, new MemoryIndexCache(), _time);
        _recall = new MemoryRecall(store, Options.Create(new MemoryOptions { SearchTimeoutMs = 1000 }), SupportAgentMetrics.Unobserved(), _time, _log);
    }

    public void Dispose() => _loading.Dispose();

    [Fact]
    public async Task A_search_waits_for_the_model_still_loading_beyond_its_budget_and_finds_the_memories()
    {
        await BuiltInMemoryStoreTests.NewStore().AddAsync(BuiltInMemoryStoreTests.Exchange(_user, "My order #1234 hasn't arrived. It's been 10 days."), CancellationToken.None);

        var recall = _recall.RecallAsync(_user, "Any updates?", CancellationToken.None);
        await WaitingForTheStoreAsync();
        _time.Advance(TimeSpan.FromSeconds(10)); // ten budgets pass while the model loads
        _loading.Release();

        var recalled = await recall.WaitAsync(Eventually.Generous);
        Assert.Equal(MemoryStatus.Ok, recalled.Status);
        Assert.Equal("My order #1234 hasn't arrived. It's been 10 days.", Assert.Single(recalled.Facts).Text);
        Assert.Contains(_log.Collector.GetSnapshot(), r => r.Message.Contains("waited", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Past_the_start_up_allowance_the_reply_goes_without_memories()
    {
        var recall = _recall.RecallAsync(_user, "Any updates?", CancellationToken.None);
        await WaitingForTheStoreAsync();
        _time.Advance(MemoryRecall.StartupAllowance); // the model never finishes loading

        var recalled = await recall.WaitAsync(Eventually.Generous);
        Assert.Equal(MemoryStatus.TimedOut, recalled.Status);
        Assert.Empty(recalled.Facts);
        Assert.Contains(_log.Collector.GetSnapshot(), r => r.Message.Contains("did not start within 30 s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Once_the_model_is_loaded_a_search_has_its_budget_only()
    {
        _loading.Release();
        await _loading.Model.WhenLoadedAsync().WaitAsync(Eventually.Generous);

        var recalled = await _recall.RecallAsync(_user, "Any updates?", CancellationToken.None).WaitAsync(Eventually.Generous);

        Assert.Equal(MemoryStatus.Ok, recalled.Status);
        Assert.DoesNotContain(_log.Collector.GetSnapshot(), r => r.Message.Contains("waits for the memory store", StringComparison.Ordinal));
    }

    /// <summary>The search has started waiting for the store (its allowance is running): the log line says so.</summary>
    private Task WaitingForTheStoreAsync() => Eventually.WaitFor(
        () => _log.Collector.GetSnapshot().Any(r => r.Message.Contains("waits for the memory store to start", StringComparison.Ordinal)),
        Eventually.Generous, "the search to wait for the loading model");
}
