using System.Diagnostics;
using System.Net;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.RealHost;

/// <summary>A real host of its own, whose Azurite the test stops and starts again.</summary>
public sealed class StorageOutageHostFixture : RealHostFixture;

/// <summary>
/// The real Functions host through a storage outage. Its queue trigger's clients are the runtime's, not the app's: with
/// the SDK's default retries the host shut itself down about 25 s into an outage ("An unhandled exception has
/// occurred. Host is shutting down.", the listener's "Retry failed after 6 tries"). With the retry settings deployed
/// (AzureWebJobsStorage__Retry__*, infra/main.bicep) its polls wait the outage out. 40 s is past that point.
/// </summary>
[Collection(RealHostCollection.Name)]
public sealed class RealHostStorageOutageTests(StorageOutageHostFixture host, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<StorageOutageHostFixture>
{
    [RealHostFact]
    public async Task The_host_rides_out_a_40_s_storage_outage_answers_503_during_it_and_writes_again_after_it()
    {
        string user = "outage-" + Guid.NewGuid().ToString("N")[..8];
        await host.ChatAsync(user, "My order #5150 is late.");
        await host.Mem0.WaitForAddsAsync(user, 1, TimeSpan.FromSeconds(90));

        host.StorageEmulator.Stop();
        var outage = Stopwatch.StartNew();
        while (outage.Elapsed < TimeSpan.FromSeconds(40)) // the outage's length; the host is probed all through it
        {
            Assert.False(host.Host.HasExited, "The host exited during the outage: " + host.Host.Tail());
            using var forget = await host.Client.SendAsync(FunctionsHostProcess.Request(HttpMethod.Delete, $"api/users/{user}/memories", FunctionsHostProcess.HostKey));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, forget.StatusCode);
            Assert.Equal("application/problem+json", forget.Content.Headers.ContentType?.MediaType);
            var reply = await host.ChatAsync(user, "My parcel is still late.");
            var saved = reply.GetProperty("memorySaved");
            Assert.True(saved.ValueKind == System.Text.Json.JsonValueKind.False || saved.GetString() == "pending", "memorySaved: " + saved);
            await Task.Delay(TimeSpan.FromSeconds(3)); // the outage's pace, not synchronisation
        }
        Assert.False(host.Host.HasExited, "The host exited during the outage: " + host.Host.Tail());

        host.StorageEmulator.Restart(); // empty: the queue and its poison queue are gone too
        var back = Stopwatch.StartNew();
        await host.ChatAsync(user, "My new order #6160 is late too.");
        await Eventually.WaitFor(() => host.Mem0.MemoriesOf(user).Any(m => m.Text.Contains("#6160")), TimeSpan.FromSeconds(90),
            "the first exchange after the outage to be written by the host's queue trigger");
        output.WriteLine($"real host: written {back.Elapsed.TotalSeconds:F1} s after storage returned");
        Assert.DoesNotContain(host.Host.Output, l => l.Contains("Host is shutting down"));
    }
}
