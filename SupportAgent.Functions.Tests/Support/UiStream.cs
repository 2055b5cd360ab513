using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace SupportAgent.Functions.Tests.Support;

/// <summary>Reads a UI message stream (Server-Sent Events) as a browser's EventSource parser would, event by event.</summary>
public static class UiStream
{
    /// <summary>POSTs a chat request asking for a stream; returns as soon as the headers are in, the body still open.</summary>
    public static Task<HttpResponseMessage> PostAsync(HttpClient client, object body, string path = "/api/chat", string accept = "text/event-stream",
        CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (accept.Length > 0)
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
        }
        return client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
    }

    /// <summary>The tutorial's body.</summary>
    public static object Tutorial(string userId, params (string Role, string Content)[] messages) =>
        new { userId, messages = messages.Select(m => new { role = m.Role, content = m.Content }) };

    /// <summary>Each event's data, in order: JSON objects, and "[DONE]" last.</summary>
    public static async IAsyncEnumerable<string> EventsAsync(HttpResponseMessage response, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var data = new StringBuilder();
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (data.Length > 0)
                {
                    yield return data.ToString();
                    data.Clear();
                }
            }
            else if (line.StartsWith("data:", StringComparison.Ordinal))
            {
                data.Append(line.AsSpan(line.StartsWith("data: ", StringComparison.Ordinal) ? 6 : 5));
            }
        }
    }

    /// <summary>The whole stream: every event (parsed) and whether it ended with [DONE].</summary>
    public static async Task<(List<JsonElement> Events, bool Done)> ReadAllAsync(HttpResponseMessage response)
    {
        var events = new List<JsonElement>();
        bool done = false;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await foreach (string data in EventsAsync(response, timeout.Token))
        {
            Assert.False(done, "an event came after [DONE]");
            if (data == "[DONE]")
            {
                done = true;
                continue;
            }
            events.Add(JsonDocument.Parse(data).RootElement.Clone());
        }
        return (events, done);
    }

    public static string Type(JsonElement e) => e.GetProperty("type").GetString()!;

    public static string Text(IEnumerable<JsonElement> events) =>
        string.Concat(events.Where(e => Type(e) == "text-delta").Select(e => e.GetProperty("delta").GetString()));
}
