using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SupportAgent.Fakes;
using SupportAgent.Functions.Identity;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary>
/// Forgotten stays forgotten: after "forget me", exchanges that were on the queue, in a retry, in flight or in the poison
/// queue never write the user's memories back; exchanges made after the forget are remembered as usual.
/// </summary>
public sealed class ForgetTests
{
    // A new user per test: the erasure record and the built-in store's table are shared by every test on the Azurite.
    private static readonly Guid Tenant = Guid.Parse("72f988bf-86f1-41af-91ab-2d7cd011db47");
    private readonly Guid _oid = Guid.NewGuid();
    private readonly string _backendUser = "user-" + Guid.NewGuid().ToString("N")[..12];

    private SignIn Alice => SignIn.EasyAuthEntra(Tenant, _oid);

    private string AliceId => SignedInUserId.ForEntra(Tenant, _oid);

    public static TheoryData<string> Backends() => ["platform", "server", "builtin"];

    private static Task<TestService> StartAsync(string backend, bool listener, string visibilityTimeout = "00:00:01", int maxDequeueCount = 5) =>
        TestService.StartAsync(new TestServiceOptions
        {
            AuthMode = "appservice",
            Mem0Flavor = backend == "server" ? Mem0Flavor.Server : Mem0Flavor.Platform,
            BuiltInMemory = backend == "builtin",
            RunQueueListener = listener,
            Settings = new Dictionary<string, string?>
            {
                ["AzureFunctionsJobHost__extensions__queues__visibilityTimeout"] = visibilityTimeout,
                ["AzureFunctionsJobHost__extensions__queues__maxDequeueCount"] = maxDequeueCount.ToString(),
            },
        });

    private static IMemoryStore Store(TestService app) => app.Services.GetRequiredService<IMemoryStore>();

    private async Task<string> ChatAsync(TestService app, string text)
    {
        using var response = await app.PostMeChatAsync(Alice, text);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("exchangeId").GetString()!;
    }

    private async Task ForgetAsync(TestService app)
    {
        using var response = await app.SendAsMeAsync(HttpMethod.Delete, "/api/me/memories", Alice);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    /// <summary>Waits until the writer has dropped the exchange and nothing is left on the queue (visible or not) or in poison.</summary>
    private static async Task WaitUntilDroppedAndDrainedAsync(TestService app, string exchangeId)
    {
        await Eventually.WaitFor(() => app.Logs.Lines.Any(l => l.Contains($"Exchange {exchangeId}", StringComparison.Ordinal) && l.Contains("dropped", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(60), $"the writer to drop exchange {exchangeId}");
        await Eventually.WaitFor(async () => (await app.RawQueue.GetPropertiesAsync()).Value.ApproximateMessagesCount, n => n == 0,
            TimeSpan.FromSeconds(30), "the memory-writes queue to drain");
        Assert.Equal(0, await app.QueueLengthAsync(app.RawPoisonQueue));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task An_exchange_still_on_the_queue_when_the_user_is_forgotten_is_never_written(string backend)
    {
        await using var app = await StartAsync(backend, listener: false);
        string exchangeId = await ChatAsync(app, "My order #1234 has not arrived");
        Assert.Single(await app.PeekQueuedAsync()); // the write has not landed

        await ForgetAsync(app);
        await app.StopHostAsync();
        app.RunQueueListener = true;
        await app.StartHostAsync();

        await WaitUntilDroppedAndDrainedAsync(app, exchangeId);
        Assert.Empty(await Store(app).ListAllAsync(AliceId));
        Assert.Equal(0, app.Mem0.RequestCount(Mem0Operation.Add));

        // Forgetting is not a ban: what she says afterwards is remembered.
        await ChatAsync(app, "My new address is 5 Elm Street");
        var remembered = await Eventually.WaitFor(() => Store(app).ListAllAsync(AliceId), m => m.Count >= 1, TimeSpan.FromSeconds(30), "the new exchange to be remembered");
        Assert.Equal(["My new address is 5 Elm Street"], remembered.Select(m => m.Memory));
    }

    [Fact]
    public async Task An_exchange_waiting_for_a_retry_when_the_user_is_forgotten_is_never_written()
    {
        await using var app = await StartAsync("platform", listener: true, maxDequeueCount: 20);
        app.Mem0.AddFaults.FailAlways(FakeFault.ServerError);
        string exchangeId = await ChatAsync(app, "My order #1234 has not arrived");
        await app.Mem0.WaitForRequestsAsync(Mem0Operation.Add, 1, TimeSpan.FromSeconds(30)); // failed once: now in a retry

        await ForgetAsync(app);
        app.Mem0.ClearFaults();

        await WaitUntilDroppedAndDrainedAsync(app, exchangeId);
        Assert.Empty(app.Mem0.MemoriesOf(AliceId));
    }

    [Fact]
    public async Task A_write_in_flight_when_the_user_is_forgotten_is_deleted_again_once_it_lands()
    {
        // The self-hosted server stores an add when the request ends: here 3 s after it started, after the forget.
        await using var app = await StartAsync("server", listener: true);
        app.Mem0.AddLatency = TimeSpan.FromSeconds(3);
        string exchangeId = await ChatAsync(app, "My order #1234 has not arrived");
        await app.Mem0.WaitForRequestsAsync(Mem0Operation.Add, 1, TimeSpan.FromSeconds(30));

        await ForgetAsync(app);

        await Eventually.WaitFor(() => app.Logs.Lines.Any(l => l.Contains($"Exchange {exchangeId}", StringComparison.Ordinal) && l.Contains("forgotten while", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the writer to notice the erasure after its write");
        await Eventually.WaitFor(() => app.Mem0.MemoriesOf(AliceId).Count == 0, TimeSpan.FromSeconds(30), "the late write to be deleted");
        Assert.Equal(1, app.Mem0.AddsCompleted); // it did land, and was deleted
    }

    [Fact]
    public async Task An_exchange_replayed_from_the_poison_queue_after_the_user_is_forgotten_is_never_written()
    {
        await using var app = await StartAsync("platform", listener: true, maxDequeueCount: 1);
        app.Mem0.AddFaults.FailAlways(FakeFault.WithStatus(400));
        string exchangeId = await ChatAsync(app, "My order #1234 has not arrived");
        await Eventually.WaitFor(() => app.QueueLengthAsync(app.RawPoisonQueue), n => n == 1, TimeSpan.FromSeconds(60), "the exchange to be poisoned");

        await ForgetAsync(app);
        app.Mem0.ClearFaults();
        // An operator replays the poison queue onto the memory-writes queue, as one does once the cause is fixed.
        var poisoned = (await app.RawPoisonQueue.ReceiveMessageAsync()).Value;
        await app.RawQueue.SendMessageAsync(poisoned.Body);
        await app.RawPoisonQueue.DeleteMessageAsync(poisoned.MessageId, poisoned.PopReceipt);

        await WaitUntilDroppedAndDrainedAsync(app, exchangeId);
        Assert.Empty(app.Mem0.MemoriesOf(AliceId));
        Assert.Equal(0, app.Mem0.AddsCompleted);
    }

    [Fact]
    public async Task The_operator_route_forgets_a_backend_user_the_same_way()
    {
        await using var app = await StartAsync("builtin", listener: false);
        using (var chat = await app.PostChatAsync(_backendUser, ("user", "My order #1234 has not arrived")))
        {
            Assert.Equal(HttpStatusCode.OK, chat.StatusCode);
        }
        string exchangeId = TestService.ParseQueued(Assert.Single(await app.PeekQueuedAsync())).Id;

        using (var forget = await app.Client.DeleteAsync($"/api/users/{_backendUser}/memories"))
        {
            Assert.Equal(HttpStatusCode.NoContent, forget.StatusCode);
        }
        await app.StopHostAsync();
        app.RunQueueListener = true;
        await app.StartHostAsync();

        await WaitUntilDroppedAndDrainedAsync(app, exchangeId);
        Assert.Empty(await Store(app).ListAllAsync(_backendUser));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains(_backendUser, StringComparison.Ordinal) || l.Contains("#1234", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_erasure_record_keeps_no_user_id()
    {
        await using var app = await StartAsync("builtin", listener: false);
        await ForgetAsync(app);

        var table = new Azure.Data.Tables.TableClient(Azurite.Instance.ConnectionString, MemoryErasures.TableName);
        var rows = new List<Azure.Data.Tables.TableEntity>();
        await foreach (var row in table.QueryAsync<Azure.Data.Tables.TableEntity>())
        {
            rows.Add(row);
        }
        Assert.NotEmpty(rows);
        string all = string.Join("\n", rows.SelectMany(r => r.Select(p => $"{p.Key}={p.Value}")));
        Assert.DoesNotContain(_oid.ToString(), all, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("idp:", all, StringComparison.OrdinalIgnoreCase);
    }
}
