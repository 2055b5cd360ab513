using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Azure.Storage.Queues;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using Microsoft.Extensions.Time.Testing;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Memory;

namespace SupportAgent.Functions.Tests.Support;

/// <summary>
/// The app's own composition (<see cref="ServiceRegistration.AddSupportAgent"/>) in the test process, without a host or
/// HTTP: the model is a <see cref="ScriptedModel"/>, the memory store an <see cref="InMemoryStore"/>, storage a real
/// Azurite with a queue of this app's own, time fake. For the chat turn's and the writer's logic; what lives in HTTP
/// is tested through <see cref="TestService"/>.
/// </summary>
public sealed class InProcessApp : IDisposable
{
    private readonly ServiceProvider _services;

    public InProcessApp(Action<Dictionary<string, string?>>? settings = null, string? storageConnectionString = null)
    {
        QueueName = Azurite.UniqueQueueName();
        var values = new Dictionary<string, string?>
        {
            [SettingNames.Storage] = storageConnectionString ?? Azurite.Instance.ConnectionString,
            [SettingNames.OpenAiApiKey] = "test-key",
            [SettingNames.MemoryQueueName] = QueueName,
        };
        settings?.Invoke(values);
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(values).Build();
        var services = new ServiceCollection();
        services.AddSingleton<TimeProvider>(Time);
        services.AddLogging(b => b.AddProvider(new FakeLoggerProvider(Logs)).SetMinimumLevel(LogLevel.Debug));
        services.AddSupportAgent(configuration);
        services.AddSingleton<IChatClient>(Model);
        services.AddSingleton<IMemoryStore>(Store);
        _services = services.BuildServiceProvider();
    }

    public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));

    public FakeLogCollector Logs { get; } = new();

    public ScriptedModel Model { get; } = new();

    public InMemoryStore Store { get; } = new();

    public string QueueName { get; }

    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    /// <summary>The memory-writes queue as the Functions trigger reads it (Base64).</summary>
    public QueueClient Queue => Azurite.Instance.Queue(QueueName, QueueMessageEncoding.Base64);

    /// <summary>What is on the memory-writes queue, parsed; an absent queue holds nothing.</summary>
    public async Task<List<MemoryWriteMessage>> QueuedAsync()
    {
        if (!await Queue.ExistsAsync())
        {
            return [];
        }
        var peeked = await Queue.PeekMessagesAsync(32);
        return [.. peeked.Value.Select(m => MemoryWriteMessage.TryParse(m.Body.ToString(), out var message, out _) ? message! : throw new InvalidOperationException("unreadable"))];
    }

    public void Dispose() => _services.Dispose();
}

/// <summary>
/// A model that answers with the pieces it is given, reports a finish reason and usage, and records what it was sent.
/// It can fail before its first piece or after some, or stop after some pieces until the caller cancels.
/// </summary>
public sealed class ScriptedModel : IChatClient
{
    private readonly ConcurrentQueue<IReadOnlyList<ChatMessage>> _calls = new();

    public IReadOnlyList<string> Pieces { get; set; } = ["Let me ", "check ", "order #1234."];

    public ChatFinishReason Finish { get; set; } = ChatFinishReason.Stop;

    public UsageDetails? Usage { get; set; } = new() { InputTokenCount = 120, OutputTokenCount = 8 };

    /// <summary>Thrown after this many pieces were sent (0: before the first).</summary>
    public (int After, Exception Error)? Failure { get; set; }

    /// <summary>After this many pieces, send nothing more until the caller cancels.</summary>
    public int? StallAfter { get; set; }

    public bool SawCancellation { get; private set; }

    public IReadOnlyList<IReadOnlyList<ChatMessage>> Calls => [.. _calls];

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        _calls.Enqueue([.. messages]);
        for (int i = 0; i <= Pieces.Count; i++)
        {
            if (Failure is { } failure && failure.After == i)
            {
                throw failure.Error;
            }
            if (StallAfter == i)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }
                finally
                {
                    SawCancellation = cancellationToken.IsCancellationRequested;
                }
            }
            if (i == Pieces.Count)
            {
                break;
            }
            yield return new ChatResponseUpdate(ChatRole.Assistant, Pieces[i]);
        }
        yield return new ChatResponseUpdate { FinishReason = Finish, Contents = Usage is null ? [] : [new UsageContent(Usage)] };
    }

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        await GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}

/// <summary>A memory store in a dictionary: per user, newest last; searches return the newest first. It can be made to fail.</summary>
public sealed class InMemoryStore : IMemoryStore
{
    private readonly ConcurrentDictionary<string, List<MemoryItem>> _byUser = new();

    /// <summary>Thrown by every call while set.</summary>
    public Exception? Failure { get; set; }

    public List<MemoryExchange> Added { get; } = [];

    /// <summary>Every call to <see cref="AddAsync"/>, including repeats of an exchange already added.</summary>
    public int AddCalls => _addCalls;

    private int _addCalls;

    public void Remember(string userId, string memory, DateTimeOffset said)
    {
        var items = _byUser.GetOrAdd(userId, _ => []);
        lock (items)
        {
            items.Add(new MemoryItem(Guid.NewGuid().ToString("N"), memory, 0.9, said));
        }
    }

    public IReadOnlyList<MemoryItem> Of(string userId)
    {
        var items = _byUser.GetOrAdd(userId, _ => []);
        lock (items)
        {
            return [.. items];
        }
    }

    public Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK, CancellationToken cancellationToken)
    {
        ThrowIfFailing();
        return Task.FromResult<IReadOnlyList<MemoryItem>>([.. Of(userId).OrderByDescending(m => m.CreatedAt).Take(topK)]);
    }

    public Task AddAsync(MemoryExchange exchange, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _addCalls);
        ThrowIfFailing();
        lock (Added)
        {
            if (Added.Any(a => a.Id == exchange.Id))
            {
                return Task.CompletedTask; // idempotent per exchange, as every store must be
            }
            Added.Add(exchange);
        }
        foreach (var turn in exchange.Turns)
        {
            Remember(exchange.UserId, turn.Content, exchange.CreatedAt);
        }
        return Task.CompletedTask;
    }

    public Task<MemoryPage> ListAsync(string userId, int pageSize, string? next, CancellationToken cancellationToken)
    {
        ThrowIfFailing();
        return Task.FromResult(new MemoryPage([.. Of(userId).Take(pageSize)], null));
    }

    public Task<bool> DeleteAsync(string userId, string memoryId, CancellationToken cancellationToken)
    {
        ThrowIfFailing();
        var items = _byUser.GetOrAdd(userId, _ => []);
        lock (items)
        {
            return Task.FromResult(items.RemoveAll(m => m.Id == memoryId) > 0);
        }
    }

    public Task DeleteAllAsync(string userId, CancellationToken cancellationToken)
    {
        ThrowIfFailing();
        _byUser.TryRemove(userId, out _);
        return Task.CompletedTask;
    }

    private void ThrowIfFailing()
    {
        if (Failure is { } failure)
        {
            throw failure;
        }
    }
}
