using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using SupportAgent.Fakes;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.RealHost;

/// <summary>
/// The memory writer under the host's own queue trigger: its retries with the real dequeue count, the poison queue
/// after host.json's maxDequeueCount, the claim-check blob of a large exchange, and exactly one write per chat.
/// </summary>
[Collection(RealHostCollection.Name)]
public sealed class RealHostQueueTests(RealHostFixture host)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);

    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..10];

    [RealHostFact]
    public async Task Monday_and_Tuesday_each_chat_is_written_to_memory_exactly_once_and_the_next_session_recalls_it()
    {
        string user = NewUser();
        var monday = await host.ChatAsync(user, "Hi, my order #1234 has not arrived. It has been 10 days");
        await host.Mem0.WaitForAddsAsync(user, 1, Patience);
        await host.WaitForQueueDrainedAsync(); // the message is gone: it cannot be delivered again

        var tuesday = await host.ChatAsync(user, "Any updates?");
        Assert.Equal(1, tuesday.GetProperty("memoriesUsed").GetInt32());
        Assert.Contains("#1234", tuesday.GetProperty("message").GetString(), StringComparison.Ordinal);
        await host.Mem0.WaitForAddsAsync(user, 2, Patience);
        await host.WaitForQueueDrainedAsync();

        Assert.Equal(2, host.Mem0.AddsFor(user));
        Assert.Equal(2, host.Mem0.RequestsFor(Mem0Operation.Add).Count(r => r.UserId == user));
        foreach (var chat in new[] { monday, tuesday })
        {
            string exchangeId = chat.GetProperty("exchangeId").GetString()!;
            Assert.Single(host.Host.Output, l => l.Contains($"Exchange {exchangeId} of", StringComparison.Ordinal) && l.Contains("written to memory", StringComparison.Ordinal));
        }
    }

    [RealHostFact]
    public async Task A_failing_write_is_retried_by_the_host_with_the_real_dequeue_count_and_lands_once()
    {
        await host.WaitForQueueDrainedAsync(); // the faults below are for this test's write alone
        string user = NewUser();
        host.Mem0.AddFaults.FailNext(2, FakeFault.WithStatus(503));
        try
        {
            string exchangeId = (await host.ChatAsync(user, "Please change my delivery address")).GetProperty("exchangeId").GetString()!;
            await host.Mem0.WaitForAddsAsync(user, 1, Patience);
            await host.WaitForQueueDrainedAsync();

            Assert.Equal(3, host.Mem0.RequestsFor(Mem0Operation.Add).Count(r => r.UserId == user));
            Assert.Equal(1, host.Mem0.AddsFor(user));
            // Each delivery is one span with the trigger's DequeueCount, bound by the host: 1 and 2 failed, 3 wrote.
            var deliveries = await Eventually.WaitFor(() => Task.FromResult(Deliveries(exchangeId)), d => d.Count == 3, Patience, "three delivery spans");
            Assert.Equal(["1 retried", "2 retried", "3 written"], deliveries);
            Assert.Equal(2, host.Host.Output.Count(l => l.Contains($"Exchange {exchangeId} of", StringComparison.Ordinal) && l.Contains("HTTP 503", StringComparison.Ordinal)));
        }
        finally
        {
            host.Mem0.ClearFaults();
        }
    }

    [RealHostFact]
    public async Task A_write_that_keeps_failing_moves_intact_to_the_poison_queue_after_maxDequeueCount_tries()
    {
        await host.WaitForQueueDrainedAsync();
        string user = NewUser();
        host.Mem0.AddFaults.FailAlways(FakeFault.WithStatus(400));
        try
        {
            string exchangeId = (await host.ChatAsync(user, "Cancel my subscription")).GetProperty("exchangeId").GetString()!;

            var poisoned = await Eventually.WaitFor(async () => await PoisonedAsync(exchangeId), m => m is not null, Patience, "the exchange in the poison queue");
            Assert.Equal(user, poisoned!.UserId);
            Assert.Equal("Cancel my subscription", poisoned.Messages![0].Content);
            Assert.Equal(RealHostFixture.MaxDequeueCount, host.Mem0.RequestsFor(Mem0Operation.Add).Count(r => r.UserId == user));
            await host.WaitForQueueDrainedAsync();

            // The app says so once, as an error, in the host's output; the host adds its own line about the move.
            string moved = await host.Host.WaitForOutputAsync(l => l.Contains($"Exchange {exchangeId} of", StringComparison.Ordinal) && l.Contains("moves to", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), "the app's poison line");
            Assert.Contains($"failed {RealHostFixture.MaxDequeueCount} times and moves to {host.QueueName}-poison", moved, StringComparison.Ordinal);
            Assert.StartsWith("fail: Function.MemoryWriter.User", host.Host.CategoryLineOf(moved), StringComparison.Ordinal);
            await host.Host.WaitForOutputAsync(l => l.Contains($"reached MaxDequeueCount of {RealHostFixture.MaxDequeueCount}", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "the host's poison line");
            // One line per try, as in the self host: host.json keeps the host's own per-try lines (the exception with
            // its stack trace, twice) out, and the app's lines in.
            Assert.Equal(RealHostFixture.MaxDequeueCount, host.Host.Output.Count(l => l.Contains($"Exchange {exchangeId} of", StringComparison.Ordinal) && l.Contains("HTTP 400", StringComparison.Ordinal)));
            Assert.DoesNotContain(host.Host.Output, l => l.Contains("Exception while executing function: Functions.MemoryWriter", StringComparison.Ordinal));
        }
        finally
        {
            host.Mem0.ClearFaults();
        }
    }

    [RealHostFact]
    public async Task An_exchange_too_large_for_a_queue_message_goes_through_a_blob_and_is_written_whole()
    {
        string user = NewUser();
        var statements = Enumerable.Range(1, 5).Select(i => $"Statement {i}: " + new string((char)('a' + i), 15_000)).ToArray();
        var body = new { userId = user, messages = statements.Select(s => new { role = "user", content = s }) };
        using var response = await host.Client.SendAsync(FunctionsHostProcess.Request(HttpMethod.Post, "api/chat", FunctionsHostProcess.HostKey, JsonContent.Create(body)));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string exchangeId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("exchangeId").GetString()!;

        await host.Mem0.WaitForAddsAsync(user, 1, Patience);
        string added = Assert.Single(host.Mem0.RequestsFor(Mem0Operation.Add), r => r.UserId == user).Body;
        Assert.All(statements, s => Assert.Contains(s, added, StringComparison.Ordinal));
        var delivery = await Eventually.WaitFor(() => Task.FromResult(ProcessSpans(exchangeId).FirstOrDefault()), s => s is not null, Patience, "the delivery span");
        Assert.Equal("true", delivery![Functions.Telemetry.SupportAgentTelemetry.ClaimCheck]);
        // The blob is deleted once the write has landed.
        await Eventually.WaitFor(async () => await host.Payloads.GetBlobsAsync().ToListAsync(), blobs => blobs.Count == 0, Patience, "the payload blob to be deleted");
    }

    private List<OtlpSpan> ProcessSpans(string exchangeId) => OtlpExports.Spans(host.Telemetry)
        .Where(s => s.Name == "process " + host.QueueName && s[Functions.Telemetry.SupportAgentTelemetry.ExchangeId] == exchangeId).ToList();

    private List<string> Deliveries(string exchangeId) => ProcessSpans(exchangeId)
        .Select(s => $"{s[Functions.Telemetry.SupportAgentTelemetry.DequeueCount]} {s[Functions.Telemetry.SupportAgentTelemetry.WriteOutcome]}")
        .Order(StringComparer.Ordinal).ToList();

    private async Task<MemoryWriteMessage?> PoisonedAsync(string exchangeId)
    {
        if (!await host.PoisonQueue.ExistsAsync())
        {
            return null;
        }
        foreach (var peeked in (await host.PoisonQueue.PeekMessagesAsync(32)).Value)
        {
            string json = Encoding.UTF8.GetString(Convert.FromBase64String(peeked.Body.ToString()));
            if (MemoryWriteMessage.TryParse(json, out var message, out _) && message.Id == exchangeId)
            {
                return message;
            }
        }
        return null;
    }
}
