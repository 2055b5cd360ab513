using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Abstractions;
using Microsoft.AspNetCore.Mvc.Infrastructure;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.AI;
using SupportAgent.Functions.Chat;
using SupportAgent.Functions.Memory;
using SupportAgent.Functions.Memory.Mem0;
using SupportAgent.Functions.Telemetry;
using OpenTelemetry;

namespace SupportAgent.Functions.Startup;

/// <summary>
/// Runs the chat path's own code once at start-up against canned answers inside the process, so the first user does
/// not wait while it is loaded and compiled (the first chat after a start took 300-1,000 ms longer than the next ones:
/// scripts/bench.sh --cold-start, docs/performance.md). Nothing leaves the process: no model call, no memory search,
/// nothing queued.
/// </summary>
public sealed partial class ChatPathWarmup(IServiceProvider services, ILogger<ChatPathWarmup> logger)
{
    private static readonly byte[] SampleRequest =
        """{"userId":"supportagent-warm-up","messages":[{"role":"user","content":"Hi, my order has not arrived."}]}"""u8.ToArray();

    private const string SampleMemories =
        """{"results":[{"id":"00000000-0000-0000-0000-000000000000","memory":"Order has not arrived","score":0.5,"created_at":"2026-01-01T00:00:00Z"}]}""";

    private const string SampleCompletion =
        """{"id":"warm-up","object":"chat.completion","created":1767225600,"model":"warm-up","choices":[{"index":0,"message":{"role":"assistant","content":"Let me check."},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}""";

    private const string SampleStream =
        "data: {\"id\":\"warm-up\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"warm-up\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Let me check.\"},\"finish_reason\":null}]}\n\n" +
        "data: {\"id\":\"warm-up\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,\"model\":\"warm-up\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n" +
        "data: [DONE]\n\n";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // Not traffic: no spans (the SDK's suppression scope) and no measurements (metrics nothing listens to).
        using var noTelemetry = SuppressInstrumentationScope.Begin();
        try
        {
            using var scope = services.CreateScope();
            var sp = scope.ServiceProvider;
            _ = sp.GetRequiredService<ChatService>(); // the real clients, built as the first request would build them
            var (request, _) = ChatRequestReader.Parse(SampleRequest);

            // The real clients build their HTTP pipelines (resilience strategies, handlers) on their first call; a call
            // cancelled before it starts builds them and sends nothing.
            await CancelledAsync(() => sp.GetRequiredService<IMemoryStore>().SearchAsync(request!.UserId, "warm-up", 1, Cancelled));
            await CancelledAsync(() => sp.GetRequiredService<IChatClient>().GetResponseAsync("warm-up", cancellationToken: Cancelled));

            var memories = CannedStore(sp) is { } store
                ? await new MemoryRecall(store, sp.GetRequiredService<IOptions<MemoryOptions>>(), SupportAgentMetrics.Unobserved(), TimeProvider.System, NullLogger<MemoryRecall>.Instance)
                    .RecallAsync(request!.UserId, request.LastUserMessage, cancellationToken)
                : new RecalledMemories([new RecalledMemory("Order has not arrived", new DateOnly(2026, 1, 1))], MemoryStatus.Ok);

            using var modelHttp = new HttpClient(new CannedResponse(SampleCompletion, SampleStream));
            var model = ModelPipeline.Create(CannedModelOptions(sp.GetRequiredService<IOptions<ModelOptions>>().Value), modelHttp);
            var messages = ChatService.ModelMessages(sp.GetRequiredService<SystemPrompt>().Build(memories), request!.Messages);
            string reply = (await model.GetResponseAsync(messages, cancellationToken: cancellationToken)).Text;
            await foreach (var update in model.GetStreamingResponseAsync(messages, cancellationToken: cancellationToken))
            {
                _ = update.Text;
            }

            _ = new MemoryWriteMessage(MemoryWriteMessage.CurrentVersion, "warm-up", request.UserId, DateTimeOffset.UtcNow, request.Messages).ToUtf8Json();
            await WriteAsync(sp, new OkObjectResult(new ChatReply(reply, memories.Facts.Count, memories.Status.Name(), MemorySaveState.Saved, "warm-up")));
            await WriteAsync(sp, ChatProblems.Input(new ChatInputProblem(StatusCodes.Status400BadRequest, "userId", "warm-up")));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Only the first request's speed is at stake.
            LogFailed(logger, ex.GetType().Name);
        }
    }

    private static readonly CancellationToken Cancelled = new(canceled: true);

    private static async Task CancelledAsync(Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (OperationCanceledException)
        {
            // as intended: cancelled before anything was sent
        }
    }

    /// <summary>The configured Mem0 API's client over a canned answer; null for a store that is not Mem0.</summary>
    private static Mem0HttpClient? CannedStore(IServiceProvider sp)
    {
        var kind = sp.GetRequiredService<IOptions<MemoryStoreOptions>>().Value.Kind;
        var http = new HttpClient(new CannedResponse(SampleMemories)) { BaseAddress = new Uri("http://warm-up.invalid/") };
        return kind switch
        {
            MemoryStoreKind.Mem0Platform => new Mem0PlatformClient(http),
            MemoryStoreKind.Mem0Server => new Mem0ServerClient(http),
            _ => null, // the built-in store's model is loaded by MemoryStoreStartup
        };
    }

    /// <summary>The configured provider and model with a key of its own, so no credential is ever looked up for the warm-up.</summary>
    private static ModelOptions CannedModelOptions(ModelOptions o) => new()
    {
        OpenAiApiKey = "warm-up",
        Model = o.Model,
        OpenAiBaseUrl = o.OpenAiBaseUrl,
        TimeoutSeconds = o.TimeoutSeconds,
        AzureEndpoint = o.AzureEndpoint,
        AzureDeployment = o.AzureDeployment,
        AzureApiKey = "warm-up",
    };

    /// <summary>Writes a result the way the hosts do, when the host has MVC's result executors (both hosts do).</summary>
    private static Task WriteAsync(IServiceProvider sp, ObjectResult result)
    {
        if (sp.GetService<IActionResultExecutor<ObjectResult>>() is null)
        {
            return Task.CompletedTask;
        }
        var context = new DefaultHttpContext { RequestServices = sp };
        context.Response.Body = Stream.Null;
        return result.ExecuteResultAsync(new ActionContext(context, new RouteData(), new ActionDescriptor()));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Chat path warm-up did not complete ({Error}); the first request will be slower")]
    private static partial void LogFailed(ILogger logger, string error);

    /// <summary>Answers every request with the same JSON (or, for a streamed request, the same events), without any I/O.</summary>
    private sealed class CannedResponse(string json, string? stream = null) : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            string body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken); // serialised, as a send would
            bool streamed = stream is not null && body.Contains("\"stream\":true", StringComparison.Ordinal);
            return new HttpResponseMessage(HttpStatusCode.OK)
            {
                Content = new StringContent(streamed ? stream! : json, Encoding.UTF8, streamed ? "text/event-stream" : "application/json"),
                RequestMessage = request,
            };
        }
    }
}
