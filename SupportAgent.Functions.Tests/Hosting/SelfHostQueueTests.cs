using System.Net;
using System.Text;
using SupportAgent.Fakes;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Hosting;

/// <summary>The self host's queue listener (the WebJobs SDK's) with host.json's retry semantics, against Azurite.</summary>
public sealed class SelfHostQueueTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static TestServiceOptions ListenerWith(string visibilityTimeout = "00:00:00.500", int maxDequeueCount = 5) => new()
    {
        RunQueueListener = true,
        Settings = new Dictionary<string, string?>
        {
            ["AzureFunctionsJobHost__extensions__queues__visibilityTimeout"] = visibilityTimeout,
            ["AzureFunctionsJobHost__extensions__queues__maxDequeueCount"] = maxDequeueCount.ToString(),
        },
    };

    [Fact]
    public async Task Mem0_failing_permanently_moves_the_message_intact_to_the_poison_queue_after_maxDequeueCount_tries()
    {
        await using var app = await TestService.StartAsync(ListenerWith(maxDequeueCount: 3));
        app.Mem0.AddFaults.FailAlways(FakeFault.WithStatus(400));

        using var response = await app.PostChatAsync("user-001", ("user", "Hi, my order #1234 hasn't arrived."));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string exchangeId = (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<System.Text.Json.JsonElement>(response.Content)).GetProperty("exchangeId").GetString()!;

        var poisoned = await Eventually.WaitFor(async () => await app.QueueLengthAsync(app.RawPoisonQueue), n => n >= 1,
            TimeSpan.FromSeconds(60), "the message to reach the poison queue");

        Assert.Equal(1, poisoned);
        Assert.Equal(3, app.Mem0.RequestCount(Mem0Operation.Add)); // one try per dequeue: 400 is not retried in process
        Assert.Equal(0, await app.QueueLengthAsync(app.RawQueue));
        var peeked = Assert.Single((await app.RawPoisonQueue.PeekMessagesAsync(32)).Value);
        var message = TestService.ParseQueued(Encoding.UTF8.GetString(Convert.FromBase64String(peeked.Body.ToString())));
        Assert.Equal(exchangeId, message.Id);
        Assert.Equal("Hi, my order #1234 hasn't arrived.", message.Messages![0].Content);

        // The log: one line per try, one error when the tries are used up, no stack trace anywhere.
        await Eventually.WaitFor(() => app.Logs.Lines.Any(l => l.Contains("moves to") && l.Contains(exchangeId)), TimeSpan.FromSeconds(30), "the poison log line");
        var lines = app.Logs.Lines.Where(l => l.Contains(exchangeId)).ToList();
        Assert.Equal(3, lines.Count(l => l.Contains("MemoryWriter") && l.Contains("HTTP 400")));
        Assert.StartsWith("Error", Assert.Single(lines, l => l.Contains("MemoryWriter") && l.Contains("failed 3 times") && l.Contains(app.QueueName + "-poison")));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("   at "));
    }

    [Fact]
    public async Task The_queue_its_poison_queue_and_the_payload_container_exist_from_the_start_so_no_missing_queue_is_ever_polled()
    {
        await using var app = await TestService.StartAsync(ListenerWith());

        Assert.True(await app.RawQueue.ExistsAsync());
        Assert.True(await app.RawPoisonQueue.ExistsAsync());
        Assert.True(await new Azure.Storage.Blobs.BlobContainerClient(Azurite.Instance.ConnectionString, app.QueueName + "-payloads").ExistsAsync());

        // Once a chat has gone through the listener, it has polled the queue more than once.
        using var response = await app.PostChatAsync("user-001", ("user", "My order #1234 is late"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await app.Mem0.WaitForAddsAsync(1, TimeSpan.FromSeconds(30));
        Assert.DoesNotContain(app.Logs.Lines, l => l.Contains("QueueNotFound") || l.Contains("does not exist"));
    }

    [Fact]
    public async Task A_malformed_message_ends_in_the_poison_queue_byte_for_byte()
    {
        await using var app = await TestService.StartAsync(ListenerWith(maxDequeueCount: 2));
        await app.RawQueue.CreateIfNotExistsAsync();
        string original = Convert.ToBase64String(Encoding.UTF8.GetBytes("{\"this is\": \"not a memory write\"}"));
        await app.RawQueue.SendMessageAsync(original);

        await Eventually.WaitFor(async () => await app.QueueLengthAsync(app.RawPoisonQueue), n => n >= 1,
            TimeSpan.FromSeconds(60), "the malformed message to reach the poison queue");

        Assert.Equal(original, Assert.Single((await app.RawPoisonQueue.PeekMessagesAsync(32)).Value).Body.ToString());
        Assert.Empty(app.Mem0.Requests.ToList());
    }

    [Fact]
    public async Task A_transient_Mem0_outage_is_retried_until_every_write_lands()
    {
        // Adds are not retried in process: the queue retries them, so its tries must outlast the outage. Storage counts
        // visibility timeouts in whole seconds (0.5 s means "at once"), so 1 s apart.
        await using var app = await TestService.StartAsync(ListenerWith(visibilityTimeout: "00:00:01", maxDequeueCount: 10));
        app.Mem0.AddFaults.FailFor(TimeSpan.FromSeconds(2), FakeFault.ServerError);

        for (int i = 0; i < 5; i++)
        {
            using var response = await app.PostChatAsync($"user-{i}", ("user", $"My order #{1000 + i} is late"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await app.Mem0.WaitForAddsAsync(5, TimeSpan.FromSeconds(60));
        Assert.All(Enumerable.Range(0, 5), i => Assert.Contains($"My order #{1000 + i} is late", app.Mem0.MemoriesOf($"user-{i}").Select(m => m.Text)));
        Assert.Equal(0, await app.QueueLengthAsync(app.RawPoisonQueue));
    }

    [Fact]
    public async Task Stopping_with_work_queued_and_in_flight_loses_nothing()
    {
        const int chats = 12;
        await using var app = await TestService.StartAsync(ListenerWith(visibilityTimeout: "00:00:00.500"));
        // Writes are slow: some are mid-write at the stop. The stop drains the listener (QueueDrainOnStop): they finish
        // and their messages are completed, instead of being cancelled and, when the shutdown also cut off their
        // release, left invisible for the listener's 10 minutes (which made this test time out under load).
        app.Mem0.AddLatency = TimeSpan.FromSeconds(3);

        for (int i = 0; i < chats; i++)
        {
            using var response = await app.PostChatAsync($"restart-{i}", ("user", $"Fact number {i} about my account"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        await app.Mem0.WaitForRequestsAsync(Mem0Operation.Add, 1, TimeSpan.FromSeconds(30)); // at least one write is in flight

        await app.StopHostAsync();
        app.Mem0.AddLatency = TimeSpan.Zero;
        await app.StartHostAsync();

        await Eventually.WaitFor(() => Enumerable.Range(0, chats).All(i => app.Mem0.MemoriesOf($"restart-{i}").Count > 0),
            TimeSpan.FromSeconds(90), "every exchange to be written after the restart");
        int writes = app.Mem0.AddsCompleted;
        // At-least-once: a write cut off by the stop may be repeated. Counted and reported, never lost.
        output.WriteLine($"restart: {chats} exchanges, {writes} completed writes, {writes - chats} duplicates");
        Assert.True(writes >= chats);
        Assert.Equal(0, await app.QueueLengthAsync(app.RawPoisonQueue));
    }
}
