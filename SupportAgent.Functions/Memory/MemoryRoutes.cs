using System.Globalization;
using System.Text.Json.Serialization;
using Azure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using SupportAgent.Functions.Http;

namespace SupportAgent.Functions.Memory;

/// <summary>
/// One memory as the memory routes show it. <c>createdAt</c> is when it was said; <c>updatedAt</c> when the store last
/// changed it (Mem0); <c>supersededBy</c> (built-in store) the id of the newer memory that replaces it: it is still
/// remembered and listed, but no longer used on its own in replies.
/// </summary>
public sealed record MemoryView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("memory")] string Memory,
    [property: JsonPropertyName("createdAt")] DateTimeOffset? CreatedAt,
    [property: JsonPropertyName("updatedAt")] DateTimeOffset? UpdatedAt,
    [property: JsonPropertyName("supersededBy")] string? SupersededBy);

/// <summary>The 200 body of GET .../memories: newest first; <c>next</c>, when present, asks for the next page.</summary>
public sealed record MemoryListResponse(
    [property: JsonPropertyName("memories")] IReadOnlyList<MemoryView> Memories,
    [property: JsonPropertyName("next")] string? Next);

/// <summary>The HTTP side of the memory routes (/api/me/memories, /api/users/{userId}/memories): paging input, bodies, failures as problems.</summary>
public static partial class MemoryRoutes
{
    private const int MaxNextLength = 2048;

    /// <summary>Reads <c>?pageSize=</c> (1-100, default 50) and <c>?next=</c>; a problem names the parameter at fault.</summary>
    public static (int PageSize, string? Next, IActionResult? Problem) ReadPaging(HttpRequest req)
    {
        int pageSize = UserMemories.DefaultPageSize;
        if (req.Query.TryGetValue("pageSize", out var sizeText)
            && (!int.TryParse(sizeText.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out pageSize) || pageSize is < 1 or > UserMemories.MaxPageSize))
        {
            return (0, null, ProblemResult.InvalidField("pageSize", $"pageSize must be a whole number from 1 to {UserMemories.MaxPageSize}."));
        }
        string? next = req.Query.TryGetValue("next", out var nextText) ? nextText.ToString() : null;
        if (next is not null && (next.Length == 0 || next.Length > MaxNextLength || next.Any(char.IsControl)))
        {
            return (0, null, ProblemResult.InvalidField("next", "next must be the value a previous page returned."));
        }
        return (pageSize, next, null);
    }

    public static OkObjectResult List(MemoryPage page) =>
        new(new MemoryListResponse(page.Items.Select(i => new MemoryView(i.Id, i.Memory, i.CreatedAt, i.UpdatedAt, i.SupersededBy)).ToArray(), page.Next));

    public static ObjectResult NotFound() => ProblemResult.Create(StatusCodes.Status404NotFound, "No such memory.",
        "There is no memory with this id among your memories.", "https://www.rfc-editor.org/rfc/rfc9110#name-404-not-found");

    /// <summary>
    /// Runs a memory operation and turns a store failure into an honest 502/503 (one log line, no details to the
    /// client), never a 500.
    /// </summary>
    public static async Task<IActionResult> RunAsync(ILogger logger, string operation, Func<Task<IActionResult>> action)
    {
        try
        {
            return await action();
        }
        catch (Exception ex) when (ex is MemoryStoreException or RequestFailedException or HttpRequestException or TimeoutException
                                   || Storage.StorageReachability.IsTransient(ex))
        {
            // MemoryStoreException from the store; RequestFailedException from the erasure table of "forget me" (an
            // unreachable account is one too, status 503: StorageReachability); an AggregateException of spent retries
            // only from a client built without that policy.
            int status = (ex as MemoryStoreException)?.Status ?? (ex as RequestFailedException)?.Status ?? 0;
            bool transient = ex is not MemoryStoreException { IsTransient: false };
            LogStoreFailed(logger, operation, status, ex.GetType().Name);
            return transient
                ? ProblemResult.Create(StatusCodes.Status503ServiceUnavailable, "Memory is unavailable.",
                    "The memory store could not be reached right now. Please try again shortly.")
                : ProblemResult.Create(StatusCodes.Status502BadGateway, "The memory store returned an error.",
                    "The memory store refused the request. Please try again; if this keeps happening, the service's memory settings need attention.");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Memory {Operation} failed (HTTP {Status}, {Error})")]
    private static partial void LogStoreFailed(ILogger logger, string operation, int status, string error);
}
