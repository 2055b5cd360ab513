using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace SupportAgent.Functions.Memory.Mem0;

/// <summary>What both Mem0 APIs share: user-id guarding, sending, and turning failures into <see cref="MemoryStoreException"/>.</summary>
public abstract class Mem0HttpClient(HttpClient http) : IMemoryStore
{
    protected HttpClient Http { get; } = http;

    public abstract Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK, CancellationToken cancellationToken);

    public abstract Task AddAsync(MemoryExchange exchange, CancellationToken cancellationToken);

    public abstract Task<MemoryPage> ListAsync(string userId, int pageSize, string? next, CancellationToken cancellationToken);

    public async Task<bool> DeleteAsync(string userId, string memoryId, CancellationToken cancellationToken)
    {
        RequireUserId(userId);
        if (!IsPlausibleMemoryId(memoryId))
        {
            return false;
        }
        // Mem0 deletes by id alone; read the memory first so an id of another user's memory is "not found", never deleted.
        JsonElement memory;
        try
        {
            memory = await SendAsync(HttpMethod.Get, MemoryPath(memoryId), null, "get", cancellationToken);
        }
        catch (MemoryStoreException ex) when (ex.Status is 404 or 400)
        {
            return false; // unknown id (the Platform answers 400 for an id that is not a UUID)
        }
        if (!Mem0Results.BelongsTo(memory, userId))
        {
            return false;
        }
        try
        {
            await SendAsync(HttpMethod.Delete, MemoryPath(memoryId), null, "delete", cancellationToken);
        }
        catch (MemoryStoreException ex) when (ex.Status == 404)
        {
            return false; // deleted in between
        }
        return true;
    }

    public abstract Task DeleteAllAsync(string userId, CancellationToken cancellationToken);

    /// <summary>The path of one memory: GET reads it, DELETE deletes it.</summary>
    protected abstract string MemoryPath(string memoryId);

    /// <summary>The metadata every write carries: where it came from and which exchange, so writes can be traced and deduplicated.</summary>
    protected static Dictionary<string, string> Metadata(MemoryExchange exchange) => new()
    {
        ["source"] = "supportagent",
        ["exchange_id"] = exchange.Id,
        ["created_at"] = exchange.CreatedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
    };

    protected static string RequireUserId(string userId) => MemoryUserId.Require(userId);

    /// <summary>A single, concrete id: never a wildcard or something that could change the request path.</summary>
    private static bool IsPlausibleMemoryId(string memoryId) =>
        !string.IsNullOrWhiteSpace(memoryId) && memoryId.Length <= 128 && memoryId.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_');

    protected static HttpContent Json<T>(T body, JsonTypeInfo<T> typeInfo) => JsonContent.Create(body, typeInfo);

    /// <summary>Sends a request and returns the parsed JSON body (default when the body is empty).</summary>
    protected async Task<JsonElement> SendAsync(HttpMethod method, string path, HttpContent? content, string operation, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await Http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw new MemoryStoreException($"Mem0 {operation} could not reach the server.", null, isTransient: true, inner: ex);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new MemoryStoreException($"Mem0 {operation} timed out.", null, isTransient: true, inner: ex);
        }
        catch (BrokenCircuitException ex)
        {
            throw new MemoryStoreException($"Mem0 {operation} skipped: recent calls failed, so the circuit is open.", null, isTransient: true, inner: ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MemoryStoreException($"Mem0 {operation} timed out.", null, isTransient: true, inner: ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                int status = (int)response.StatusCode;
                throw new MemoryStoreException(
                    $"Mem0 {operation} failed with HTTP {status}.",
                    status,
                    MemoryStoreException.IsTransientStatus(status),
                    RetryAfter(response));
            }
            if (response.StatusCode == HttpStatusCode.NoContent)
            {
                return default;
            }
            try
            {
                await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
                using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
                return document.RootElement.Clone();
            }
            catch (JsonException ex)
            {
                if (response.Content.Headers.ContentLength == 0)
                {
                    return default;
                }
                throw new MemoryStoreException($"Mem0 {operation} returned a body that is not JSON.", (int)response.StatusCode, isTransient: false, inner: ex);
            }
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response)
    {
        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }
        if (header?.Date is { } date)
        {
            var wait = date - DateTimeOffset.UtcNow;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }
        return null;
    }
}
