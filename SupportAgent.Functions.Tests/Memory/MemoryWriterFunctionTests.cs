using System.Net;
using System.Text;
using System.Text.Json;
using Azure.Storage.Queues;
using Microsoft.Extensions.DependencyInjection;
using SupportAgent.Fakes;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Memory;

/// <summary>The queue-triggered writer, fed the messages the chat function really put on Azurite.</summary>
public sealed class MemoryWriterFunctionTests
{
    private static async Task<string> ChatAndReceiveAsync(TestService app, string userId, string text)
    {
        using var response = await app.PostChatAsync(userId, ("user", text));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // Received as the trigger would: Base64-decoded by the client, exactly one message.
        var queue = new QueueClient(Azurite.Instance.ConnectionString, app.QueueName, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
        var received = (await queue.ReceiveMessagesAsync(32)).Value;
        return Assert.Single(received).Body.ToString();
    }

    private static MemoryWriterFunction Writer(TestService app) => ActivatorUtilities.CreateInstance<MemoryWriterFunction>(app.Services);

    [Theory]
    [InlineData(Mem0Flavor.Platform, "/v3/memories/add/", "Token " + TestService.Mem0Key, null)]
    [InlineData(Mem0Flavor.Server, "/memories", null, TestService.Mem0Key)]
    public async Task Writes_the_exchange_to_Mem0_for_the_right_user(Mem0Flavor flavor, string path, string? authorization, string? apiKey)
    {
        await using var app = await TestService.StartAsync(new TestServiceOptions { Mem0Flavor = flavor });
        app.Model.Responder = _ => "I'm sorry! Let me look into order #1234.";
        string message = await ChatAndReceiveAsync(app, "user-001", "Hi, my order #1234 hasn't arrived. It's been 10 days");

        await Writer(app).Run(message, 1, CancellationToken.None);

        var add = Assert.Single(app.Mem0.RequestsFor(Mem0Operation.Add));
        Assert.Equal(path, add.Path);
        Assert.Equal(authorization, add.Authorization);
        Assert.Equal(apiKey, add.XApiKey);
        var body = add.BodyJson();
        Assert.Equal("user-001", body.GetProperty("user_id").GetString());
        Assert.Equal(
            [("user", "Hi, my order #1234 hasn't arrived. It's been 10 days"), ("assistant", "I'm sorry! Let me look into order #1234.")],
            body.GetProperty("messages").EnumerateArray().Select(m => (m.GetProperty("role").GetString(), m.GetProperty("content").GetString())));
        Assert.Equal(TestService.ParseQueued(message).Id, body.GetProperty("metadata").GetProperty("exchange_id").GetString());
        Assert.Contains("Hi, my order #1234 hasn't arrived. It's been 10 days", app.Mem0.MemoriesOf("user-001").Select(m => m.Text));
        Assert.Empty(app.Mem0.MemoriesOf("user-002"));
    }

    [Theory]
    [InlineData(500)]
    [InlineData(503)]
    public async Task Mem0_server_errors_throw_so_the_runtime_retries(int status)
    {
        await using var app = await TestService.StartAsync();
        string message = await ChatAndReceiveAsync(app, "user-001", "Hello");
        app.Mem0.AddFaults.FailAlways(FakeFault.WithStatus(status));

        var ex = await Assert.ThrowsAsync<MemoryStoreException>(() => Writer(app).Run(message, 1, CancellationToken.None));

        Assert.True(ex.IsTransient);
        Assert.Equal(status, ex.Status);
        Assert.Equal(0, app.Mem0.AddsCompleted);
    }

    [Fact]
    public async Task Mem0_rate_limit_throws_with_its_retry_after_at_once_for_the_queue_to_retry()
    {
        await using var app = await TestService.StartAsync();
        string message = await ChatAndReceiveAsync(app, "user-001", "Hello");
        app.Mem0.AddFaults.FailAlways(FakeFault.TooManyRequests(TimeSpan.FromSeconds(1)));

        var ex = await Assert.ThrowsAsync<MemoryStoreException>(() => Writer(app).Run(message, 1, CancellationToken.None));

        Assert.True(ex.IsTransient);
        Assert.Equal((int)HttpStatusCode.TooManyRequests, ex.Status);
        Assert.Equal(TimeSpan.FromSeconds(1), ex.RetryAfter);
        // No in-process retry of an add: one that timed out may have been stored, and the queue retries the message anyway.
        Assert.Equal(1, app.Mem0.RequestCount(Mem0Operation.Add));
    }

    [Fact]
    public async Task A_long_Mem0_retry_after_is_left_to_the_queue_instead_of_waited_out()
    {
        await using var app = await TestService.StartAsync();
        string message = await ChatAndReceiveAsync(app, "user-001", "Hello");
        app.Mem0.AddFaults.FailAlways(FakeFault.TooManyRequests(TimeSpan.FromSeconds(120)));

        var ex = await Assert.ThrowsAsync<MemoryStoreException>(() => Writer(app).Run(message, 1, CancellationToken.None));

        Assert.True(ex.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(120), ex.RetryAfter);
        Assert.Equal(1, app.Mem0.RequestCount(Mem0Operation.Add));
    }

    [Fact]
    public async Task A_rate_limit_that_clears_is_written_once_when_the_queue_delivers_the_message_again()
    {
        await using var app = await TestService.StartAsync();
        string message = await ChatAndReceiveAsync(app, "user-001", "Hello");
        app.Mem0.AddFaults.FailNext(1, FakeFault.TooManyRequests(TimeSpan.FromSeconds(1)));

        await Assert.ThrowsAsync<MemoryStoreException>(() => Writer(app).Run(message, 1, CancellationToken.None));
        await Writer(app).Run(message, 1, CancellationToken.None);

        Assert.Equal(1, app.Mem0.AddsCompleted);
        Assert.Equal(2, app.Mem0.RequestCount(Mem0Operation.Add));
    }

    [Fact]
    public async Task Searches_are_still_retried_in_process()
    {
        await using var app = await TestService.StartAsync();
        app.Mem0.SearchFaults.FailNext(1, FakeFault.ServerError);

        using var response = await app.PostChatAsync("user-001", ("user", "Hello"));

        Assert.Equal("ok", (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<JsonElement>(response.Content)).GetProperty("memory").GetString());
        Assert.Equal(2, app.Mem0.RequestCount(Mem0Operation.Search));
    }

    [Fact]
    public async Task Mem0_refusing_the_write_throws_so_it_ends_in_the_poison_queue()
    {
        await using var app = await TestService.StartAsync();
        string message = await ChatAndReceiveAsync(app, "user-001", "Hello");
        app.Mem0.AddFaults.FailAlways(FakeFault.WithStatus(400));

        var ex = await Assert.ThrowsAsync<MemoryStoreException>(() => Writer(app).Run(message, 1, CancellationToken.None));

        Assert.False(ex.IsTransient);
        Assert.Contains(app.Logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) && l.Contains("refused the write"));
    }
}
