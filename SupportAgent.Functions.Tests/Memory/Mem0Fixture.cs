using System.Net.Http.Headers;
using SupportAgent.Fakes;
using SupportAgent.Functions.Conversation;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.Mem0;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary>
/// One fake Mem0 server and one of our clients pointed at it, wired the way ServiceRegistration wires them
/// (base address with a trailing slash; Token auth for the Platform, X-API-Key for the server) but without the
/// resilience handler, so the first failure surfaces as it is.
/// </summary>
public sealed class Mem0Fixture : IAsyncDisposable
{
    public const string Key = "test-mem0-key";
    public static readonly TimeSpan WaitTimeout = TimeSpan.FromSeconds(10);

    private Mem0Fixture(FakeMem0Server fake, HttpClient http, IMemoryStore client)
    {
        Fake = fake;
        Http = http;
        Client = client;
    }

    public FakeMem0Server Fake { get; }

    public HttpClient Http { get; }

    public IMemoryStore Client { get; }

    public static async Task<Mem0Fixture> StartAsync(Mem0Flavor flavor, string key = Key, FakeMem0ServerOptions? options = null)
    {
        var fake = await FakeMem0Server.StartNewAsync((options ?? new FakeMem0ServerOptions()) with
        {
            Flavor = flavor,
            ApiKey = options?.ApiKey ?? Key,
            AdminApiKey = flavor == Mem0Flavor.Server ? options?.AdminApiKey ?? Key : null,
        });
        var http = CreateHttpClient(fake, flavor, key);
        IMemoryStore client = flavor == Mem0Flavor.Platform ? new Mem0PlatformClient(http) : new Mem0ServerClient(http);
        return new Mem0Fixture(fake, http, client);
    }

    /// <summary>As ServiceRegistration configures the typed clients.</summary>
    public static HttpClient CreateHttpClient(FakeMem0Server fake, Mem0Flavor flavor, string key)
    {
        var http = new HttpClient { BaseAddress = fake.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (flavor == Mem0Flavor.Platform)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", key);
        }
        else
        {
            http.DefaultRequestHeaders.Add("X-API-Key", key);
        }
        return http;
    }

    public static MemoryExchange Exchange(string userId, string userSays, string assistantSays = "Noted, thanks.") =>
        new("ex-" + Guid.NewGuid().ToString("N"), userId, DateTimeOffset.UtcNow,
            [new ChatTurn(ChatTurn.User, userSays), new ChatTurn(ChatTurn.Assistant, assistantSays)]);

    /// <summary>Adds one exchange and waits until the fake has stored it (the Platform's add is asynchronous).</summary>
    public async Task AddAndWaitAsync(string userId, string userSays)
    {
        int before = Fake.AddsFor(userId);
        await Client.AddAsync(Exchange(userId, userSays), CancellationToken.None);
        await Fake.WaitForAddsAsync(userId, before + 1, WaitTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Fake.DisposeAsync();
    }
}

internal static class MemoryStoreExtensions
{
    /// <summary>Every memory of the user, following every page.</summary>
    public static async Task<IReadOnlyList<MemoryItem>> ListAllAsync(this IMemoryStore store, string userId, int pageSize = 100)
    {
        var all = new List<MemoryItem>();
        string? next = null;
        do
        {
            var page = await store.ListAsync(userId, pageSize, next, CancellationToken.None);
            all.AddRange(page.Items);
            next = page.Next;
        }
        while (next is not null);
        return all;
    }
}
