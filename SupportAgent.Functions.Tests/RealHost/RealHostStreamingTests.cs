using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SupportAgent.Functions.Tests.Support;

namespace SupportAgent.Functions.Tests.RealHost;

/// <summary>
/// Replies through the host's HTTP proxy to the worker: a stream's first text reaches the client while the model is
/// still writing (nothing buffers it), a client hanging up reaches the model call, and the JSON reply is one body.
/// </summary>
[Collection(RealHostCollection.Name)]
public sealed class RealHostStreamingTests(RealHostFixture host)
{
    private const string Reply = "Your order #1234 left our warehouse yesterday and should arrive on Friday.";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly string ChatPath = $"/api/chat?code={FunctionsHostProcess.HostKey}";

    [RealHostFact]
    public async Task A_streamed_reply_shows_its_first_text_while_the_model_is_still_writing()
    {
        host.Model.Responder = _ => Reply;
        host.Model.HoldStreamsAfter(2); // the model sends two words, then waits until the test lets it finish
        try
        {
            using var response = await UiStream.PostAsync(host.Client, UiStream.Tutorial("user-stream", ("user", "Any updates?")), ChatPath);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("v1", Assert.Single(response.Headers.GetValues("x-vercel-ai-ui-message-stream")));

            var events = new List<JsonElement>();
            using var timeout = new CancellationTokenSource(Patience);
            bool done = false, released = false;
            await foreach (string data in UiStream.EventsAsync(response, timeout.Token))
            {
                if (data == "[DONE]")
                {
                    done = true;
                    continue;
                }
                events.Add(JsonDocument.Parse(data).RootElement.Clone());
                if (!released && events.Count(e => UiStream.Type(e) == "text-delta") == 2)
                {
                    // Two words are here while the model holds the rest back: the host passed them on unbuffered
                    // (had it buffered, they would never come and this test would time out).
                    released = true;
                    host.Model.ReleaseStreams();
                }
            }

            Assert.True(done, "no data: [DONE] at the end");
            Assert.Equal(Reply, UiStream.Text(events));
            Assert.Equal("finish", UiStream.Type(events[^1]));
        }
        finally
        {
            host.Model.ReleaseStreams();
            host.Model.Responder = null!;
        }
    }

    [RealHostFact]
    public async Task A_client_hanging_up_mid_stream_cancels_the_model_call_through_the_host()
    {
        host.Model.HoldStreamsAfter(1);
        int abandonedBefore = host.Model.Abandoned;
        try
        {
            using (var response = await UiStream.PostAsync(host.Client, UiStream.Tutorial("user-hangs-up", ("user", "Tell me a long story")), ChatPath))
            {
                using var timeout = new CancellationTokenSource(Patience);
                await using var events = UiStream.EventsAsync(response, timeout.Token).GetAsyncEnumerator(timeout.Token);
                while (await events.MoveNextAsync() && !events.Current.Contains("\"text-delta\"", StringComparison.Ordinal))
                {
                }
            } // the client goes away with the reply half read

            await host.Model.WaitForAbandonedAsync(abandonedBefore + 1, Patience);
        }
        finally
        {
            host.Model.ReleaseStreams();
        }
        await host.WaitForQueueDrainedAsync(); // what the user said is still remembered; let that write end here
    }

    [RealHostFact]
    public async Task Without_a_stream_the_reply_is_one_JSON_body()
    {
        using var response = await host.PostChatAsync("user-json", "Hi, my order #1234 has not arrived", configure: r => r.Headers.Accept.ParseAdd("application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.StartsWith("I remember:", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, body.GetProperty("memoriesUsed").GetInt32());
        Assert.Equal("ok", body.GetProperty("memory").GetString());
        Assert.True(body.GetProperty("memorySaved").GetBoolean());
        Assert.Matches("^[0-9a-f]{32}$", body.GetProperty("exchangeId").GetString());
    }
}
