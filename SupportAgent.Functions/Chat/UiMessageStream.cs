using System.Buffers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using SupportAgent.Functions.Memory;

namespace SupportAgent.Functions.Chat;

/// <summary>
/// Writes a chat turn's events as Server-Sent Events in the Vercel AI SDK's UI message stream protocol (v1), so
/// <c>useChat</c> reads it unchanged: <c>start</c>, <c>text-start</c>, <c>text-delta</c>…, <c>text-end</c>,
/// <c>finish</c> (with the finish reason, and the memory figures and token usage as message metadata), <c>data: [DONE]</c>.
/// Each event is flushed as it is written. A failure after the stream began is an <c>error</c> event, a <c>finish</c>
/// with reason <c>error</c>, then the end. The turn itself (what is queued, its telemetry) is the turn's own business:
/// this class only formats what it yields.
/// </summary>
public sealed partial class UiMessageStreamResult : IActionResult
{
    public const string ContentType = "text/event-stream";
    public const string ProtocolHeader = "x-vercel-ai-ui-message-stream";
    private const string TextId = "text-1";
    private static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly byte[] Done = "[DONE]"u8.ToArray();

    private readonly IAsyncEnumerator<ChatTurnEvent> _turn;
    private readonly IReadOnlyList<ChatTurnEvent> _started;
    private readonly ILogger _logger;

    private UiMessageStreamResult(IAsyncEnumerator<ChatTurnEvent> turn, IReadOnlyList<ChatTurnEvent> started, ILogger logger)
    {
        _turn = turn;
        _started = started;
        _logger = logger;
    }

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

    /// <summary>
    /// Reads the turn up to its first text before anything is sent, so a failure until then (a <see cref="ModelException"/>)
    /// is thrown here and can still be answered with an HTTP error status.
    /// </summary>
    public static async Task<UiMessageStreamResult> StartAsync(IAsyncEnumerable<ChatTurnEvent> turn, ILogger logger, CancellationToken cancellationToken)
    {
        var events = turn.GetAsyncEnumerator(cancellationToken);
        var started = new List<ChatTurnEvent>();
        try
        {
            while (started.LastOrDefault() is not (ReplyDelta or TurnCompleted) && await events.MoveNextAsync())
            {
                started.Add(events.Current);
            }
            return new UiMessageStreamResult(events, started, logger);
        }
        catch
        {
            await events.DisposeAsync();
            throw;
        }
    }

    public async Task ExecuteResultAsync(ActionContext context)
    {
        var http = context.HttpContext;
        var response = http.Response;
        var aborted = http.RequestAborted;
        await using (_turn) // disposing the turn before its end cancels the model call and queues the user's own turns
        {
            // Every event goes out as it is written: no buffering here, nor in a proxy that honours X-Accel-Buffering.
            http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = ContentType;
            response.Headers.CacheControl = "no-cache";
            response.Headers[ProtocolHeader] = "v1";
            response.Headers["X-Accel-Buffering"] = "no";
            try
            {
                await SseFormatter.WriteAsync(Flushed(Chunks(aborted), response, aborted), response.Body, Format, aborted);
            }
            catch (Exception ex) when (aborted.IsCancellationRequested && ex is OperationCanceledException or IOException)
            {
                // The client hung up: disposing the turn cancels the model call and queues the user's turn.
            }
        }
    }

    /// <summary>The protocol's events for the turn's events; a failure mid-stream becomes its error event.</summary>
    private async IAsyncEnumerable<UiChunk?> Chunks([EnumeratorCancellation] CancellationToken aborted)
    {
        string? exchangeId = null;
        ChatStreamMetadata? metadata = null;
        int characters = 0;
        int next = 0;
        while (true)
        {
            ChatTurnEvent? e;
            string? error;
            if (next < _started.Count)
            {
                (e, error) = (_started[next++], null);
            }
            else
            {
                (e, error) = await NextAsync(exchangeId, characters, aborted);
            }
            if (error is not null)
            {
                yield return new UiChunk("error") { ErrorText = error };
                yield return new UiChunk("finish") { FinishReason = FinishReasons.Error, MessageMetadata = metadata! with { MemorySaved = MemorySaveState.NotSaved } };
                break;
            }
            switch (e)
            {
                case MemoriesRecalled r:
                    exchangeId = r.ExchangeId;
                    metadata = new ChatStreamMetadata(r.MemoriesUsed, r.Memory, null, r.ExchangeId);
                    yield return new UiChunk("start") { MessageId = r.ExchangeId, MessageMetadata = metadata };
                    yield return new UiChunk("text-start") { Id = TextId };
                    break;
                case ReplyDelta d:
                    characters += d.Text.Length;
                    yield return new UiChunk("text-delta") { Id = TextId, Delta = d.Text };
                    break;
                case TurnCompleted c:
                    yield return new UiChunk("text-end") { Id = TextId };
                    yield return new UiChunk("finish") { FinishReason = c.FinishReason, MessageMetadata = metadata! with { MemorySaved = c.MemorySaved, Usage = c.Usage } };
                    break;
            }
            if (e is null or TurnCompleted)
            {
                break;
            }
        }
        yield return null; // data: [DONE]
    }

    /// <summary>The turn's next event (null at its end), or the words to send when it failed after the stream began.</summary>
    private async Task<(ChatTurnEvent? Event, string? Error)> NextAsync(string? exchangeId, int characters, CancellationToken aborted)
    {
        try
        {
            return (await _turn.MoveNextAsync() ? _turn.Current : null, null);
        }
        catch (ModelException ex)
        {
            LogModelFailedMidStream(_logger, exchangeId ?? "-", ex.Failure.ToString(), ex.ProviderStatus, characters);
            return (null, ChatProblems.ModelFailureText(ex.Failure).Detail);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !aborted.IsCancellationRequested)
        {
            LogUnexpected(_logger, ex, exchangeId ?? "-");
            return (null, ChatProblems.UnexpectedDetail);
        }
    }

    /// <summary>
    /// Flushes after each event is written: the formatter does not (dotnet/runtime#121003), and a buffering server or
    /// proxy would otherwise hold the words back.
    /// </summary>
    private static async IAsyncEnumerable<SseItem<UiChunk?>> Flushed(IAsyncEnumerable<UiChunk?> chunks, HttpResponse response, [EnumeratorCancellation] CancellationToken aborted)
    {
        await foreach (var chunk in chunks.WithCancellation(aborted))
        {
            yield return new SseItem<UiChunk?>(chunk);
            await response.Body.FlushAsync(aborted);
        }
    }

    private static void Format(SseItem<UiChunk?> item, IBufferWriter<byte> writer)
    {
        if (item.Data is null)
        {
            writer.Write(Done);
            return;
        }
        using var json = new Utf8JsonWriter(writer, JsonOptions);
        JsonSerializer.Serialize(json, item.Data, UiMessageStreamJson.Default.UiChunk);
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

    public string? FinishReason { get; init; }

    public ChatStreamMetadata? MessageMetadata { get; init; }

    public string? ErrorText { get; init; }
}

/// <summary>
/// The JSON reply's fields besides the message, as the streamed message's metadata (memorySaved and usage only on
/// <c>finish</c>).
/// </summary>
public sealed record ChatStreamMetadata(int MemoriesUsed, string Memory, MemorySaveState? MemorySaved, string ExchangeId)
{
    public TokenUsage? Usage { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(UiChunk))]
internal sealed partial class UiMessageStreamJson : JsonSerializerContext;
