using System.Buffers;
using System.IO.Pipelines;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// Writes a <see cref="ChatReplyStream"/> as Server-Sent Events in the Vercel AI SDK's UI message stream protocol (v1),
/// so <c>useChat</c> reads it unchanged: <c>start</c>, <c>text-start</c>, <c>text-delta</c>…, <c>text-end</c>,
/// <c>finish</c> (memory figures as message metadata), <c>data: [DONE]</c>. Each event is flushed as it is written.
/// A failure after the stream began is an <c>error</c> event, then the end.
/// </summary>
public sealed partial class UiMessageStreamResult(ChatReplyStream reply, ILogger logger) : IActionResult
{
    public const string ContentType = "text/event-stream";
    public const string ProtocolHeader = "x-vercel-ai-ui-message-stream";
    private const string TextId = "text-1";
    private static readonly byte[] DataPrefix = "data: "u8.ToArray();
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();
    private static readonly byte[] Done = "data: [DONE]\n\n"u8.ToArray();
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Whether to answer with a stream: the client asked for <c>text/event-stream</c>, or sent the AI SDK's request shape
    /// (useChat's transport sends no Accept header) without asking for JSON. Everything else gets JSON, as ever.
    /// </summary>
    public static bool IsWanted(HttpRequest http, ChatRequest request)
    {
        var accept = http.GetTypedHeaders().Accept;
        bool Names(string type) => accept.Any(a => a.Quality is not 0 && a.MediaType.Equals(type, StringComparison.OrdinalIgnoreCase));
        return Names(ContentType) || (request.UiMessages && !Names("application/json"));
    }

    public async Task ExecuteResultAsync(ActionContext context)
    {
        var http = context.HttpContext;
        var response = http.Response;
        var aborted = http.RequestAborted;
        await using (reply)
        {
            // Every event goes out as it is written: no buffering here, nor in a proxy that honours X-Accel-Buffering.
            http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = ContentType;
            response.Headers.CacheControl = "no-cache";
            response.Headers[ProtocolHeader] = "v1";
            response.Headers["X-Accel-Buffering"] = "no";

            int characters = 0;
            try
            {
                // The headers and the opening events leave together with the first words.
                await WriteAsync(response, new UiChunk("start") { MessageId = reply.ExchangeId, MessageMetadata = Metadata(saved: null) }, aborted, flush: false);
                await WriteAsync(response, new UiChunk("text-start") { Id = TextId }, aborted, flush: false);
                await foreach (string delta in reply.ReadAsync(aborted))
                {
                    characters += delta.Length;
                    await WriteAsync(response, new UiChunk("text-delta") { Id = TextId, Delta = delta }, aborted);
                }
                await WriteAsync(response, new UiChunk("text-end") { Id = TextId }, aborted);
                await WriteAsync(response, new UiChunk("finish") { MessageMetadata = Metadata(reply.MemorySaved) }, aborted, flush: false);
                await WriteDoneAsync(response, aborted);
            }
            catch (ModelException ex)
            {
                LogModelFailedMidStream(logger, reply.ExchangeId, ex.Failure.ToString(), ex.ProviderStatus, characters);
                await TryEndWithErrorAsync(response, ChatProblems.ModelFailureText(ex.Failure).Detail, aborted);
            }
            catch (Exception ex) when (aborted.IsCancellationRequested && ex is OperationCanceledException or IOException)
            {
                // The client hung up: disposing the reply cancels the model call and queues the user's turn.
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogUnexpected(logger, ex, reply.ExchangeId);
                await TryEndWithErrorAsync(response, ChatProblems.UnexpectedDetail, aborted);
            }
        }
    }

    private ChatStreamMetadata Metadata(bool? saved) => new(reply.MemoriesUsed, reply.Memory, saved, reply.ExchangeId);

    private static async Task TryEndWithErrorAsync(HttpResponse response, string text, CancellationToken aborted)
    {
        try
        {
            await WriteAsync(response, new UiChunk("error") { ErrorText = text }, aborted);
            await WriteDoneAsync(response, aborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // Gone while we said so; nothing more to do.
        }
    }

    /// <summary>Writes one event straight into the response's pipe; with <paramref name="flush"/> it leaves at once.</summary>
    private static async Task WriteAsync(HttpResponse response, UiChunk chunk, CancellationToken aborted, bool flush = true)
    {
        var pipe = response.BodyWriter;
        pipe.Write(DataPrefix);
        using (var json = new Utf8JsonWriter(pipe, JsonOptions))
        {
            JsonSerializer.Serialize(json, chunk, UiMessageStreamJson.Default.UiChunk);
        }
        pipe.Write(EventEnd);
        if (flush)
        {
            await pipe.FlushAsync(aborted);
        }
    }

    private static async Task WriteDoneAsync(HttpResponse response, CancellationToken aborted)
    {
        response.BodyWriter.Write(Done);
        await response.BodyWriter.FlushAsync(aborted);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Chat model stream of exchange {ExchangeId} failed after {Characters} characters: {Failure} (provider status {ProviderStatus}); the client got an error event")]
    private static partial void LogModelFailedMidStream(ILogger logger, string exchangeId, string failure, int providerStatus, int characters);

    [LoggerMessage(Level = LogLevel.Error, Message = "Chat stream of exchange {ExchangeId} failed unexpectedly")]
    private static partial void LogUnexpected(ILogger logger, Exception exception, string exchangeId);
}

/// <summary>One UI message stream event (the AI SDK calls them chunks); only the fields its type uses are written.</summary>
internal sealed record UiChunk(string Type)
{
    public string? Id { get; init; }

    public string? Delta { get; init; }

    public string? MessageId { get; init; }

    public ChatStreamMetadata? MessageMetadata { get; init; }

    public string? ErrorText { get; init; }
}

/// <summary>The JSON reply's memory fields, as the streamed message's metadata (memorySaved only on <c>finish</c>).</summary>
public sealed record ChatStreamMetadata(int MemoriesUsed, string Memory, bool? MemorySaved, string ExchangeId);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UiChunk))]
internal sealed partial class UiMessageStreamJson : JsonSerializerContext;
