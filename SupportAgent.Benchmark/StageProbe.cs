using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Azure.Storage.Queues;

namespace SupportAgent.Benchmark;

/// <summary>
/// While a load runs, calls each dependency of the response path directly, one request at a time per dependency:
/// a Mem0 search and a chat completion on the fakes, and a message put on a scratch queue in Azurite. Their timings,
/// taken on the same busy machine, show how much of the measured overhead is the dependencies' own (beyond their
/// injected latency) and how much is the service's code. The probe's requests are counted so they can be subtracted.
/// </summary>
internal sealed class StageProbe(HttpClient http, Uri openAi, Uri mem0, string mem0Key, string openAiKey, QueueClient scratch)
{
    private const int Pause = 50; // ms between a probe's requests: a few percent of the load at most

    public sealed class Result
    {
        public List<double> SearchMs { get; } = [];

        public List<double> ModelMs { get; } = [];

        public List<double> EnqueueMs { get; } = [];

        /// <summary>Requests the probe sent to the fakes (answered or not), to subtract from their counters.</summary>
        public int SearchCalls { get; set; }

        public int ModelCalls { get; set; }
    }

    public async Task<Result> RunAsync(CancellationToken stop)
    {
        await scratch.CreateIfNotExistsAsync(cancellationToken: CancellationToken.None);
        var result = new Result();
        var calls = await Task.WhenAll(
            LoopAsync(result.SearchMs, () => SearchAsync(), stop),
            LoopAsync(result.ModelMs, () => CompleteAsync(), stop),
            LoopAsync(result.EnqueueMs, () => scratch.SendMessageAsync("probe", CancellationToken.None), stop));
        result.SearchCalls = calls[0];
        result.ModelCalls = calls[1];
        await scratch.ClearMessagesAsync(CancellationToken.None);
        return result;
    }

    private static async Task<int> LoopAsync(List<double> timings, Func<Task> call, CancellationToken stop)
    {
        int i = 0;
        for (; i < 100_000 && !stop.IsCancellationRequested; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            try
            {
                await call();
                timings.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or Azure.RequestFailedException)
            {
                // a failed probe is not a timing; the load's own errors are what count
            }
            try
            {
                await Task.Delay(Pause, stop);
            }
            catch (OperationCanceledException)
            {
                i++;
                break;
            }
        }
        return i;
    }

    private async Task SearchAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(mem0, "v3/memories/search/"))
        {
            Content = Json("""{"query":"Hi, my order #1234 hasn't arrived","filters":{"user_id":"bench-probe"},"top_k":5,"rerank":false}"""),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Token", mem0Key);
        using var response = await http.SendAsync(request, CancellationToken.None);
        await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
        response.EnsureSuccessStatusCode();
    }

    private async Task CompleteAsync()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(openAi, "v1/chat/completions"))
        {
            Content = Json("""{"model":"gpt-4o-mini","messages":[{"role":"system","content":"You are a support agent."},{"role":"user","content":"Hi, my order #1234 hasn't arrived. It's been 10 days"}]}"""),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", openAiKey);
        using var response = await http.SendAsync(request, CancellationToken.None);
        await response.Content.ReadAsByteArrayAsync(CancellationToken.None);
        response.EnsureSuccessStatusCode();
    }

    private static ByteArrayContent Json(string json)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }
}
