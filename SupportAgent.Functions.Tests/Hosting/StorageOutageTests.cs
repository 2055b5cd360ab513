using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SupportAgent.Fakes;
using SupportAgent.Functions.Configuration;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.Hosting;

/// <summary>
/// A storage outage as an operator would see it: two self-host instances (processes of their own, so an instance that
/// dies takes only itself) on one Azurite of this class alone, which the test stops for 60 s and starts again, empty.
/// </summary>
public sealed class StorageOutageTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Two_instances_ride_out_a_60_s_outage_answer_cleanly_during_it_and_serve_and_write_again_after_it()
    {
        using var azurite = Azurite.StartNew();
        await using var model = await FakeOpenAiServer.StartNewAsync(new FakeOpenAiServerOptions());
        var settings = new Dictionary<string, string>
        {
            [SettingNames.Storage] = azurite.ConnectionString,
            [SettingNames.MemoryQueueName] = Azurite.UniqueQueueName("outage"),
            [SettingNames.OpenAiBaseUrl] = model.OpenAiBaseUrl,
            [SettingNames.OpenAiApiKey] = TestService.OpenAiKey,
            ["AzureFunctionsJobHost__extensions__queues__maxPollingInterval"] = "00:00:00.500",
        };
        await using var a = await SelfHostInstance.StartAsync(settings);
        await using var b = await SelfHostInstance.StartAsync(settings);
        SelfHostInstance[] both = [a, b];

        // Before: a fact told to A is remembered, and B finds it (one storage account behind both).
        await ChatAsync(a, "outage-user", "My order number is 4521 and it ships to Lyon.", expectSaved: true);
        await WaitUntilListedAsync(b, "outage-user", "order number is 4521");

        azurite.Stop();
        var outage = Stopwatch.StartNew();
        var chatTimes = new List<double>();
        var routeTimes = new List<double>();
        int round = 0;
        while (outage.Elapsed < Outage) // the outage itself lasts this long; every instance is probed all through it
        {
            foreach (var instance in both)
            {
                Assert.False(instance.HasExited, "An instance exited during the outage: " + Tail(instance));
                foreach (var method in new[] { HttpMethod.Get, HttpMethod.Delete })
                {
                    var timed = Stopwatch.StartNew();
                    using var response = await instance.Client.SendAsync(new HttpRequestMessage(method, "/api/users/outage-user/memories"));
                    routeTimes.Add(timed.Elapsed.TotalSeconds);
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                    Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                }
                if (round % 3 == 0)
                {
                    // A chat is answered, without memory, and says its exchange is not (or not yet) saved.
                    var timed = Stopwatch.StartNew();
                    var reply = await ChatAsync(instance, "outage-user", "My parcel is late again.", expectSaved: false);
                    chatTimes.Add(timed.Elapsed.TotalSeconds);
                    Assert.NotEqual("ok", reply.GetProperty("memory").GetString());
                }
            }
            round++;
            await Task.Delay(TimeSpan.FromSeconds(2)); // the outage's pace, not synchronisation: the next round of probes
        }
        Assert.All(both, i => Assert.False(i.HasExited, "An instance exited during the outage: " + Tail(i)));
        output.WriteLine($"during the outage: {chatTimes.Count} chats, reply median {Median(chatTimes):F2} s, max {chatTimes.Max():F2} s; " +
                         $"{routeTimes.Count} memory route calls (all 503), median {Median(routeTimes):F2} s, max {routeTimes.Max():F2} s");

        azurite.Restart(); // empty: every table, queue and container is gone
        var back = Stopwatch.StartNew();
        foreach (var (instance, name) in new[] { (a, "A"), (b, "B") })
        {
            await Eventually.WaitFor(async () =>
            {
                using var response = await instance.Client.GetAsync("/api/users/outage-user/memories");
                return response.StatusCode;
            }, s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(60), $"instance {name} to serve again");
            output.WriteLine($"instance {name} served again {back.Elapsed.TotalSeconds:F1} s after storage returned");
        }

        // After: a new fact told to B is written (the queue, the tables re-created) and A finds it.
        await ChatAsync(b, "after-user", "My new address is 12 Rue de la Paix in Paris.", expectSaved: true);
        await WaitUntilListedAsync(a, "after-user", "12 Rue de la Paix");
        output.WriteLine($"written and found across instances {back.Elapsed.TotalSeconds:F1} s after storage returned");

        foreach (var instance in both)
        {
            // One line when storage went away, one when it came back: not one per poll or per request.
            Assert.Single(instance.Output, l => l.Contains("cannot be reached ("));
            Assert.Single(instance.Output, l => l.Contains("Storage is reachable again"));
            Assert.DoesNotContain(instance.Output, l => l.Contains("Unhandled exception") || l.Contains("   at "));
            Assert.Equal(0, await instance.TerminateAsync());
        }
    }

    private static async Task<JsonElement> ChatAsync(SelfHostInstance instance, string userId, string text, bool expectSaved)
    {
        using var response = await instance.Client.PostAsJsonAsync("/api/chat", new { userId, messages = new[] { new { role = "user", content = text } } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        var saved = body.GetProperty("memorySaved");
        if (expectSaved)
        {
            Assert.Equal(JsonValueKind.True, saved.ValueKind);
        }
        else
        {
            Assert.True(saved.ValueKind == JsonValueKind.False || saved.GetString() == "pending", "memorySaved: " + saved);
        }
        return body;
    }

    private static Task WaitUntilListedAsync(SelfHostInstance instance, string userId, string text) =>
        Eventually.WaitFor(async () =>
        {
            using var response = await instance.Client.GetAsync($"/api/users/{userId}/memories");
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync() : "";
        }, body => body.Contains(text), TimeSpan.FromSeconds(60), $"'{text}' to be listed for {userId}");

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static string Tail(SelfHostInstance instance) => string.Join('\n', instance.Output.TakeLast(40));
}
