using System.Net;
using System.Text;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using SupportAgent.Functions.Chat;
using SupportAgent.Functions.Limits;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.Mem0;
using SupportAgent.Functions.Storage;
using SupportAgent.Functions.Telemetry;

namespace SupportAgent.Functions.Startup;

/// <summary>
/// Runs the real chat function once at start-up, so the first user does not wait while the chat path is loaded and
/// compiled (the first chat after a start took 300-1,000 ms longer than the next ones: scripts/bench.sh --cold-start,
/// docs/performance.md). The function, the service, the recall, the model pipeline and the queue are the app's own,
/// built from the app's services; only what would leave the process is a stand-in: the model's and Mem0's HTTP and the
/// storage queue answer from memory, the built-in store is replaced by one canned memory (its model is loaded by
/// <c>MemoryStoreStartup</c>) and the per-user limits are off (their table is shared by every instance). No model call, no memory search, nothing queued, no span, no measurement.
/// </summary>
public sealed partial class ChatPathWarmup(IServiceProvider services, ILogger<ChatPathWarmup> logger)
{
    private const string SampleRequest =
        """{"userId":"supportagent-warm-up","messages":[{"role":"user","content":"Hi, my order has not arrived."}]}""";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // Not traffic: no spans (the SDK's suppression scope) and no measurements (metrics nothing listens to).
        using var noTelemetry = SuppressInstrumentationScope.Begin();
        try
        {
            using var scope = services.CreateScope();
            var sp = scope.ServiceProvider;
            _ = sp.GetRequiredService<ChatService>(); // the real clients and their HTTP pipelines, built as the first request would build them

            using var http = new HttpClient(new StandIns());
            var metrics = SupportAgentMetrics.Unobserved();
            var recall = ActivatorUtilities.CreateInstance<MemoryRecall>(sp, StandInStore(sp), metrics, NullLogger<MemoryRecall>.Instance);
            // Limits off: the warm-up user must not count in the storage account, nor be refused after a few restarts.
            var limiter = ActivatorUtilities.CreateInstance<UserLimiter>(sp, Options.Create(new LimitOptions { RequestsPerMinute = 0, TokensPerDay = 0 }), metrics, NullLogger<UserLimiter>.Instance);
            var chat = ActivatorUtilities.CreateInstance<ChatService>(sp, recall, StandInModel(sp, http), StandInQueue(sp), limiter, metrics, NullLogger<ChatService>.Instance);
            var function = ActivatorUtilities.CreateInstance<ChatFunction>(sp, chat, metrics, NullLogger<ChatFunction>.Instance);

            await CallAsync(sp, function, SampleRequest, "application/json", StatusCodes.Status200OK, cancellationToken);   // the JSON reply
            await CallAsync(sp, function, SampleRequest, "text/event-stream", StatusCodes.Status200OK, cancellationToken);  // the streamed reply
            await CallAsync(sp, function, """{"messages":[]}""", "application/json", StatusCodes.Status400BadRequest, cancellationToken); // a problem
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Only the first request's speed is at stake.
            LogFailed(logger, ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>A request the way a host makes one, its result written the way a host writes it, to nowhere.</summary>
    private static async Task CallAsync(IServiceProvider sp, ChatFunction function, string body, string accept, int expectedStatus, CancellationToken cancellationToken)
    {
        var context = new DefaultHttpContext { RequestServices = sp };
        context.Request.Method = HttpMethods.Post;
        context.Request.Path = "/api/chat";
        context.Request.ContentType = "application/json";
        context.Request.Headers.Accept = accept;
        context.Request.Body = new MemoryStream(Encoding.UTF8.GetBytes(body));
        context.Response.Body = Stream.Null;
        var result = await function.Run(context.Request, cancellationToken);
        await result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
        if (context.Response.StatusCode != expectedStatus)
        {
            // The function maps its own failures to a status; a different one means part of the path did not run.
            throw new InvalidOperationException($"the warm-up's {accept} request answered {context.Response.StatusCode}");
        }
    }

    /// <summary>The configured Mem0 API's client over the stand-in HTTP; for the built-in store, one canned memory.</summary>
    private static IMemoryStore StandInStore(IServiceProvider sp)
    {
        var client = new HttpClient(new StandIns()) { BaseAddress = new Uri("http://warm-up.invalid/") };
        return sp.GetRequiredService<IOptions<MemoryStoreOptions>>().Value.Kind switch
        {
            MemoryStoreKind.Mem0Platform => new Mem0PlatformClient(client),
            MemoryStoreKind.Mem0Server => new Mem0ServerClient(client),
            _ => new CannedStore(),
        };
    }

    /// <summary>The app's model pipeline for the configured provider and model, with a key of its own (no credential is looked up).</summary>
    private static Microsoft.Extensions.AI.IChatClient StandInModel(IServiceProvider sp, HttpClient http)
    {
        var o = sp.GetRequiredService<IOptions<ModelOptions>>().Value;
        var options = new ModelOptions
        {
            OpenAiApiKey = "warm-up",
            Model = o.Model,
            OpenAiBaseUrl = o.OpenAiBaseUrl,
            TimeoutSeconds = o.TimeoutSeconds,
            AzureEndpoint = o.AzureEndpoint,
            AzureDeployment = o.AzureDeployment,
            AzureApiKey = "warm-up",
        };
        return ModelPipeline.Create(options, http,
            limits: sp.GetRequiredService<IOptions<ModelLimits>>().Value, counter: sp.GetRequiredService<ChatTokenCounter>());
    }

    /// <summary>The app's queue over the Azure SDK's own pipeline, with a transport that answers from memory.</summary>
    private static MemoryWriteQueue StandInQueue(IServiceProvider sp)
    {
        var transport = new HttpClientTransport(new HttpClient(new StandIns()));
        var account = new Uri("http://warm-up.invalid/devstoreaccount1");
        return new MemoryWriteQueue(
            new QueueServiceClient(account, new QueueClientOptions { Transport = transport, MessageEncoding = QueueMessageEncoding.Base64 }),
            new BlobServiceClient(account, new BlobClientOptions { Transport = transport }),
            sp.GetRequiredService<IOptions<MemoryOptions>>(),
            sp.GetRequiredService<StorageClients>().SettingName);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat path warm-up did not complete ({Error}: {Problem}); the first request will be slower")]
    private static partial void LogFailed(ILogger logger, string error, string problem);

    private sealed class CannedStore : IMemoryStore
    {
        public Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyList<MemoryItem>>([new MemoryItem("warm-up", "Order has not arrived", 0.5, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero))]);

        public Task AddAsync(MemoryExchange exchange, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<MemoryPage> ListAsync(string userId, int pageSize, string? next, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task<bool> DeleteAsync(string userId, string memoryId, CancellationToken cancellationToken) => throw new NotSupportedException();

        public Task DeleteAllAsync(string userId, CancellationToken cancellationToken) => throw new NotSupportedException();
    }

    /// <summary>Answers each service's request with a canned success in its own wire format, without any I/O.</summary>
    private sealed class StandIns : HttpMessageHandler
    {
        private const string Completion =
            """{"id":"warm-up","object":"chat.completion","created":1767225600,"model":"warm-up","choices":[{"index":0,"message":{"role":"assistant","content":"Let me check."},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}""";

        private const string CompletionStream =
            "data: {\"id\":\"warm-up\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"warm-up\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Let me check.\"},\"finish_reason\":null}]}\n\n" +
            "data: {\"id\":\"warm-up\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"warm-up\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1,\"total_tokens\":2}}\n\n" +
            "data: [DONE]\n\n";

        private const string Memories =
            """{"results":[{"id":"00000000-0000-0000-0000-000000000000","memory":"Order has not arrived","score":0.5,"created_at":"2026-01-01T00:00:00Z"}]}""";

        private const string QueueMessageSent =
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><QueueMessagesList><QueueMessage><MessageId>00000000-0000-0000-0000-000000000000</MessageId>" +
            "<InsertionTime>Thu, 01 Jan 2026 00:00:00 GMT</InsertionTime><ExpirationTime>Thu, 08 Jan 2026 00:00:00 GMT</ExpirationTime>" +
            "<PopReceipt>warm-up</PopReceipt><TimeNextVisible>Thu, 01 Jan 2026 00:00:00 GMT</TimeNextVisible></QueueMessage></QueueMessagesList>";

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken); // serialised, as a send would
            string path = request.RequestUri!.AbsolutePath;
            (HttpStatusCode status, string content, string type) = path switch
            {
                _ when path.EndsWith("/messages", StringComparison.Ordinal) => (HttpStatusCode.Created, QueueMessageSent, "application/xml"),
                _ when path.Contains("/devstoreaccount1", StringComparison.Ordinal) => (HttpStatusCode.Created, "", "application/xml"),
                _ when path.EndsWith("/completions", StringComparison.Ordinal) && body.Contains("\"stream\":true", StringComparison.Ordinal) =>
                    (HttpStatusCode.OK, CompletionStream, "text/event-stream"),
                _ when path.EndsWith("/completions", StringComparison.Ordinal) => (HttpStatusCode.OK, Completion, "application/json"),
                _ => (HttpStatusCode.OK, Memories, "application/json"),
            };
            return new HttpResponseMessage(status) { Content = new StringContent(content, Encoding.UTF8, type), RequestMessage = request };
        }
    }
}
