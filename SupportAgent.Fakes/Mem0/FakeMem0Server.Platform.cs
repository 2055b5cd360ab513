using System.Text.Json;
using Microsoft.AspNetCore.Builder;

namespace SupportAgent.Fakes;

// The hosted Platform's routes the service calls (docs/mem0-api.md): v3 add, search and list; v1 read and delete of one
// memory; v1 delete of a user's memories.
public sealed partial class FakeMem0Server
{
    private const string MissingEntityMessage = """{"message":"At least one of the filters: agent_id, user_id, app_id, run_id is required!"}""";
    private const string MissingEntityList = """["One of the filters: app_id, user_id, agent_id, run_id is required!"]""";
    private const string InvalidAddBody =
        """{"error":"400 Bad Request","details":{"message":"Invalid input data. Please refer to the memory creation documentation at https://docs.mem0.ai/platform/quickstart#4-1-create-memories for correct formatting and required fields."}}""";
    private const string EntityOutsideFilters =
        """{"error":"Entity IDs (user_id, agent_id, app_id, run_id) must be passed inside 'filters', e.g. {\"filters\": {\"user_id\": \"alice\"}}."}""";

    private void MapPlatform(WebApplication app)
    {
        Map(app, "POST", "/v3/memories/add/", Mem0Operation.Add, PlatformAddAsync);
        Map(app, "POST", "/v3/memories/search/", Mem0Operation.Search, PlatformSearchAsync);
        Map(app, "POST", "/v3/memories/", Mem0Operation.List, PlatformListAsync);
        Map(app, "GET", "/v1/memories/{id}/", Mem0Operation.Get, PlatformGetAsync);
        Map(app, "DELETE", "/v1/memories/{id}/", Mem0Operation.Delete, PlatformDeleteAsync);
        Map(app, "DELETE", "/v1/memories/", Mem0Operation.DeleteAll, PlatformDeleteAllAsync);
    }

    /// <summary>Always asynchronous, as the real v3 add: accepted as PENDING, searchable once "processed".</summary>
    private async Task PlatformAddAsync(Call call)
    {
        string? scope = ScopeFromBody(call.Body);
        if (!call.BodyIsJson || scope is null || !HasMessages(call.Body))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, InvalidAddBody);
            return;
        }
        if (!TryTimestamp(call.Body, out var saidAt))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, InvalidAddBody);
            return;
        }
        var texts = UserTexts(call.Body);
        var metadata = Metadata(call.Body);
        if (ProcessingDelay <= TimeSpan.Zero)
        {
            StoreAdd(scope, texts, metadata, saidAt);
        }
        else
        {
            _ = CompleteLaterAsync(scope, texts, metadata, saidAt, ProcessingDelay);
        }
        await HttpIo.WriteRawJsonAsync(call.Http, 200, $$"""{"event_id":"{{Guid.NewGuid()}}","status":"PENDING"}""");
    }

    /// <summary>Background "processing" of an accepted add. Completes even if the fake stops meanwhile (the real service would).</summary>
    private async Task CompleteLaterAsync(string scope, List<string> texts, JsonElement? metadata, DateTimeOffset? saidAt, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, Stopping);
        }
        catch (OperationCanceledException)
        {
            // stopping: finish now
        }
        StoreAdd(scope, texts, metadata, saidAt);
    }

    /// <summary>
    /// The add's optional <c>timestamp</c>: Unix seconds of when it was said, which the memories are then dated by
    /// (<c>created_at</c>/<c>updated_at</c>). Anything but a whole number there is invalid input, as for the Platform.
    /// </summary>
    private static bool TryTimestamp(JsonElement body, out DateTimeOffset? saidAt)
    {
        saidAt = null;
        if (!body.TryGetProperty("timestamp", out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return true;
        }
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt64(out long seconds) || seconds < 0 || seconds > 253402300799)
        {
            return false;
        }
        saidAt = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }

    private async Task PlatformSearchAsync(Call call)
    {
        if (!call.BodyIsJson || call.Body.ValueKind != JsonValueKind.Object)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, """{"detail":"JSON parse error - Expecting value: line 1 column 1 (char 0)"}""");
            return;
        }
        if (HasTopLevelEntity(call.Body))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, EntityOutsideFilters);
            return;
        }
        string? query = HttpIo.StringProperty(call.Body, "query");
        if (string.IsNullOrWhiteSpace(query))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, """{"error":"query is required and must be a non-empty string."}""");
            return;
        }
        if (ScopeFromFilters(call.Body) is not { } scope)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, MissingEntityMessage);
            return;
        }
        int topK = IntProperty(call.Body, "top_k") ?? 10;
        if (topK is < 1 or > 1000)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, """{"error":"top_k must be between 1 and 1000."}""");
            return;
        }

        var hits = _store.Search(scope, query, topK).Select(h => (h.Memory, (double?)h.Score)).ToList();
        var shape = SearchResponseShape == Mem0ResponseShape.Default ? Mem0ResponseShape.Results : SearchResponseShape;
        await WriteMemoriesAsync(call, hits, shape, page: 1, pageSize: Math.Max(1, hits.Count));
    }

    /// <summary><c>POST /v3/memories/?page=&amp;page_size=</c> with <c>{filters}</c>: a page envelope.</summary>
    private async Task PlatformListAsync(Call call)
    {
        if (HasTopLevelEntity(call.Body))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, EntityOutsideFilters);
            return;
        }
        if (ScopeFromFilters(call.Body) is not { } scope)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, MissingEntityMessage);
            return;
        }
        var memories = _store.List(scope).Select(m => (m, (double?)null)).ToList();
        var shape = ListResponseShape == Mem0ResponseShape.Default ? Mem0ResponseShape.Paged : ListResponseShape;
        await WriteMemoriesAsync(call, memories, shape, IntQuery(call.Http, "page") ?? 1, IntQuery(call.Http, "page_size") ?? 100);
    }

    private async Task PlatformGetAsync(Call call)
    {
        string id = (string)call.Http.Request.RouteValues["id"]!;
        if (!Guid.TryParse(id, out _))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, """{"error":"memory_id should be a valid UUID"}""");
            return;
        }
        if (_store.Get(id) is not { } memory)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 404, """{"error":"Memory not found!"}""");
            return;
        }
        await HttpIo.WriteJsonAsync(call.Http, 200, PlatformItem(memory, null), Mem0WireJson.Relaxed.PlatformMemoryItem);
    }

    private async Task PlatformDeleteAsync(Call call)
    {
        string id = (string)call.Http.Request.RouteValues["id"]!;
        if (!Guid.TryParse(id, out _))
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, """{"error":"memory_id should be a valid UUID"}""");
            return;
        }
        bool deleted = _store.Delete(id);
        await HttpIo.WriteRawJsonAsync(call.Http, deleted ? 200 : 404,
            deleted ? """{"message":"Memory deleted successfully!"}""" : """{"error":"Memory not found!"}""");
    }

    /// <summary>Delete all of a user's memories. Asynchronous on the real Platform; the fake deletes at once.</summary>
    private async Task PlatformDeleteAllAsync(Call call)
    {
        if (ScopeFromQuery(call.Http) is not { } scope)
        {
            await HttpIo.WriteRawJsonAsync(call.Http, 400, MissingEntityList);
            return;
        }
        _store.DeleteAll(scope);
        _changed.Pulse();
        await HttpIo.WriteRawJsonAsync(call.Http, 200,
            $$"""{"message":"Delete in progress. This may take some time.","event_id":"{{Guid.NewGuid()}}"}""");
    }

    private static PlatformMemoryItem PlatformItem(Mem0Memory m, double? score) =>
        new(m.Id, m.Text, UserIdOf(m), score, m.Metadata, [], null, m.CreatedAtText, m.UpdatedAtText);

    private static ServerMemoryItem ServerItem(Mem0Memory m, double? score) =>
        new(m.Id, m.Text, m.Hash, m.Metadata, score, UserIdOf(m), m.CreatedAtText, m.UpdatedAtText);

    /// <summary>Scopes other than a user's are stored as "agent:x" etc.; those memories have no user_id.</summary>
    private static string? UserIdOf(Mem0Memory m) =>
        m.UserId.StartsWith("agent:", StringComparison.Ordinal) || m.UserId.StartsWith("app:", StringComparison.Ordinal) || m.UserId.StartsWith("run:", StringComparison.Ordinal)
            ? null
            : m.UserId;

    /// <summary>Writes memories in the given shape; <see cref="Mem0ResponseShape.Paged"/> pages them and links the next page.</summary>
    private async Task WriteMemoriesAsync(Call call, List<(Mem0Memory Memory, double? Score)> items, Mem0ResponseShape shape, int page, int pageSize)
    {
        var http = call.Http;
        int count = items.Count;
        string? next = null, previous = null;
        if (shape == Mem0ResponseShape.Paged)
        {
            if (page < 1 || pageSize < 1)
            {
                await HttpIo.WriteRawJsonAsync(http, 404, """{"detail":"Invalid page."}""");
                return;
            }
            if (PageSizeLimit is { } limit)
            {
                pageSize = Math.Min(pageSize, limit);
            }
            int skip = (int)Math.Min(int.MaxValue, (long)(page - 1) * pageSize);
            if (page > 1 && skip >= count)
            {
                await HttpIo.WriteRawJsonAsync(http, 404, """{"detail":"Invalid page."}""");
                return;
            }
            string link = BaseUrl + http.Request.Path.Value;
            next = skip + pageSize < count ? $"{link}?page={page + 1}&page_size={pageSize}" : null;
            previous = page > 1 ? $"{link}?page={page - 1}&page_size={pageSize}" : null;
            items = items.Skip(skip).Take(pageSize).ToList();
        }

        http.Response.StatusCode = 200;
        http.Response.ContentType = "application/json";
        await using (var writer = new Utf8JsonWriter(http.Response.BodyWriter, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            bool envelope = shape is Mem0ResponseShape.Results or Mem0ResponseShape.Paged;
            if (envelope)
            {
                writer.WriteStartObject();
                if (shape == Mem0ResponseShape.Paged)
                {
                    writer.WriteNumber("count", count);
                    writer.WriteString("next", next);
                    writer.WriteString("previous", previous);
                }
                writer.WritePropertyName("results");
            }
            writer.WriteStartArray();
            foreach (var (memory, score) in items)
            {
                if (shape == Mem0ResponseShape.V1Data)
                {
                    JsonSerializer.Serialize(writer, new V1DataItem(memory.Id, new V1Data(memory.Text), "ADD"), Mem0WireJson.Relaxed.V1DataItem);
                }
                else if (Flavor == Mem0Flavor.Platform)
                {
                    JsonSerializer.Serialize(writer, PlatformItem(memory, score), Mem0WireJson.Relaxed.PlatformMemoryItem);
                }
                else
                {
                    JsonSerializer.Serialize(writer, ServerItem(memory, score), Mem0WireJson.Relaxed.ServerMemoryItem);
                }
            }
            writer.WriteEndArray();
            if (envelope)
            {
                writer.WriteEndObject();
            }
        }
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted);
    }
}
