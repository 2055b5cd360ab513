using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Polly.CircuitBreaker;
using Polly.Timeout;
using SupportAgent.Functions.Chat;

namespace SupportAgent.Functions.Memory.Mem0;

/// <summary>What both Mem0 APIs share: user-id guarding, sending, and turning failures into <see cref="Mem0Exception"/>.</summary>
public abstract class Mem0HttpClient(HttpClient http) : IMem0Client
{
    protected HttpClient Http { get; } = http;

    public abstract Task<IReadOnlyList<MemoryItem>> SearchAsync(string userId, string query, int topK, CancellationToken cancellationToken);

    public abstract Task AddAsync(string userId, IReadOnlyList<ChatTurn> messages, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken);

    public abstract Task<IReadOnlyList<MemoryItem>> ListAsync(string userId, CancellationToken cancellationToken);

    public abstract Task DeleteAsync(string memoryId, CancellationToken cancellationToken);

    public abstract Task DeleteAllAsync(string userId, CancellationToken cancellationToken);

    protected static string RequireUserId(string userId) => MemoryUserId.Require(userId);

    protected static string RequireMemoryId(string memoryId)
    {
        if (string.IsNullOrWhiteSpace(memoryId) || memoryId.Contains('*', StringComparison.Ordinal) || memoryId.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException("A memory id must be a single, concrete id.", nameof(memoryId));
        }
        return memoryId;
    }

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
            throw new Mem0Exception($"Mem0 {operation} could not reach the server.", null, isTransient: true, inner: ex);
        }
        catch (TimeoutRejectedException ex)
        {
            throw new Mem0Exception($"Mem0 {operation} timed out.", null, isTransient: true, inner: ex);
        }
        catch (BrokenCircuitException ex)
        {
            throw new Mem0Exception($"Mem0 {operation} skipped: recent calls failed, so the circuit is open.", null, isTransient: true, inner: ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new Mem0Exception($"Mem0 {operation} timed out.", null, isTransient: true, inner: ex);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                var status = response.StatusCode;
                throw new Mem0Exception(
                    $"Mem0 {operation} failed with HTTP {(int)status}.",
                    status,
                    Mem0Exception.IsTransientStatus(status),
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
                throw new Mem0Exception($"Mem0 {operation} returned a body that is not JSON.", response.StatusCode, isTransient: false, inner: ex);
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
